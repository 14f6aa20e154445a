"""Reference definitions of the transposed convolution.

A transposed convolution scatters every input element, times the whole
kernel, into the output (the adjoint of a convolution)::

    y_full[n, g*Cog + o, i*stride + t*dilation] += x[n, g*Cig + c, i] * w[g*Cig + c, o, t]

for every input position ``i`` and kernel tap ``t``; the result is ``y_full``
cropped by ``padding`` on both sides (``output_padding`` extra elements are
kept at the end). Everything is computed in float64, with NumPy only.
"""
import itertools

import numpy as np

from fastconv.reference._conv import _as_float64, _int_tuple

__all__ = ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "conv_transpose_nd"]


def _pairs(padding, nd):
    """An int, one int per dim, or one (before, after) pair per dim -> pairs."""
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        return [(int(padding), int(padding))] * nd
    entries = list(padding)
    if len(entries) != nd:
        raise ValueError(f"padding must have {nd} entries, got {padding!r}")
    pairs = []
    for e in entries:
        if isinstance(e, (int, np.integer)):
            pairs.append((int(e), int(e)))
        else:
            b, a = e
            pairs.append((int(b), int(a)))
    if any(b < 0 or a < 0 for b, a in pairs):
        raise ValueError(f"padding must be >= 0, got {padding!r}")
    return pairs


def conv_transpose_nd(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                      dilation=1):
    """N-dimensional transposed convolution, computed in float64 by scattering.

    Parameters
    ----------
    x : array_like
        Input ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
    weight : array_like
        ``(C_in, C_out // groups, *kernel)``; its number of dims sets ``nd``.
    bias : array_like, optional
        ``(C_out,)``.
    stride, dilation : int or sequence of int
        Per spatial dimension, each >= 1.
    padding : int, sequence of int or of (before, after) pairs
        Removed from each side of the full scattered output.
    output_padding : int or sequence of int
        Extra elements kept at the end of each spatial dimension.
    groups : int
        Channel groups.

    Returns
    -------
    numpy.ndarray
        float64, ``(N, C_out, *out)`` with ``out = (in - 1) * stride - before - after
        + dilation * (k - 1) + output_padding + 1``.

    Raises
    ------
    ValueError
        For inconsistent shapes or an empty output.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import conv_transpose_nd
    >>> conv_transpose_nd(np.array([[[1.0, 2.0]]]), np.array([[[1.0, 1.0, 1.0]]]), stride=2)
    array([[[1., 1., 3., 2., 2.]]])
    """
    x = _as_float64(x, "x")
    weight = _as_float64(weight, "weight")
    nd = weight.ndim - 2
    if nd < 1:
        raise ValueError(f"weight must have at least 3 dimensions, got shape {weight.shape}")
    batched = x.ndim == nd + 2
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"input must have {nd + 1} or {nd + 2} dims, got shape {x.shape}")
    xb = x if batched else x[None]
    n, c_in = xb.shape[:2]
    if c_in != weight.shape[0] or c_in % groups:
        raise ValueError(f"input has {c_in} channels, weight {weight.shape}, groups={groups}")
    cig = c_in // groups
    cog = weight.shape[1]
    c_out = cog * groups
    spatial = xb.shape[2:]
    kernel = weight.shape[2:]
    stride = _int_tuple(stride, nd, "stride")
    dilation = _int_tuple(dilation, nd, "dilation")
    pads = _pairs(padding, nd)
    op = tuple(int(v) for v in ((output_padding,) * nd if np.ndim(output_padding) == 0
                                else output_padding))
    full = [(i - 1) * s + d * (k - 1) + 1 + o
            for i, s, d, k, o in zip(spatial, stride, dilation, kernel, op)]
    out = [f - b - a for f, (b, a) in zip(full, pads)]
    if any(v <= 0 for v in out):
        raise ValueError(f"output size {out} is not positive")
    # Room for the scattered output even when padding crops past its end.
    buf = [max(f, b + o) for f, (b, _), o in zip(full, pads, out)]
    yfull = np.zeros((n, c_out) + tuple(buf))
    for g in range(groups if xb.size else 0):
        xg = xb[:, g * cig:(g + 1) * cig]
        wg = weight[g * cig:(g + 1) * cig]
        for tap in itertools.product(*(range(k) for k in kernel)):
            # Every input element i lands at i * stride + tap * dilation.
            window = tuple(slice(t * d, t * d + (i - 1) * s + 1, s)
                           for t, d, s, i in zip(tap, dilation, stride, spatial))
            contrib = np.tensordot(wg[(slice(None), slice(None)) + tap], xg, axes=([0], [1]))
            yfull[(slice(None), slice(g * cog, (g + 1) * cog)) + window] += np.moveaxis(
                contrib, 0, 1)
    y = yfull[(slice(None), slice(None)) + tuple(slice(b, b + o) for (b, _), o in zip(pads, out))]
    y = np.ascontiguousarray(y)
    if bias is not None:
        y += _as_float64(bias, "bias").reshape((1, c_out) + (1,) * nd)
    return y if batched else y[0]


def _fixed(nd):
    def conv_transpose(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                       dilation=1):
        w = np.asarray(weight)
        if w.ndim != nd + 2:
            raise ValueError(f"weight must have {nd + 2} dims for conv_transpose{nd}d, "
                             f"got shape {w.shape}")
        return conv_transpose_nd(x, w, bias, stride, padding, output_padding, groups,
                                 dilation)

    conv_transpose.__name__ = conv_transpose.__qualname__ = f"conv_transpose{nd}d"
    conv_transpose.__doc__ = f"""{nd}-D transposed convolution, float64, by scattering.

    The same as :func:`conv_transpose_nd` with a weight of ``{nd + 2}`` dims
    ``(C_in, C_out // groups, *kernel)``; PyTorch's argument order.

    Parameters
    ----------
    x, weight, bias, stride, padding, output_padding, groups, dilation
        As for :func:`conv_transpose_nd`.

    Returns
    -------
    numpy.ndarray
        float64 result.

    Raises
    ------
    ValueError
        For inconsistent shapes.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import conv_transpose{nd}d
    >>> x = np.ones((1, 1) + (2,) * {nd})
    >>> conv_transpose{nd}d(x, np.ones((1, 1) + (2,) * {nd}), stride=2).shape
    {(1, 1) + (4,) * nd}
    """
    return conv_transpose


conv_transpose1d = _fixed(1)
conv_transpose2d = _fixed(2)
conv_transpose3d = _fixed(3)
