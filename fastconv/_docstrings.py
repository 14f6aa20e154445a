"""What the docstrings of the 1-D, 2-D and 3-D functions call the dims.

``SPATIAL_NAMES[nd]`` fills a docstring template's ``{spatial}`` (input
dims), ``{kernel}`` (kernel dims) and ``{out_spatial}`` (output dims).
"""

SPATIAL_NAMES = {
    1: dict(spatial="L", kernel="k", out_spatial="out_L"),
    2: dict(spatial="H, W", kernel="kh, kw", out_spatial="out_H, out_W"),
    3: dict(spatial="D, H, W", kernel="kd, kh, kw", out_spatial="out_D, out_H, out_W"),
}
