"""Every public function of fastconv as a ready-to-call case.

The hardening tests (layouts, many callers, leaks) run the same calls over
the whole public API; this module is their one list. A :class:`Case` is a
function, its positional and keyword arguments (the arrays among them are
what the tests vary) and whether it accepts ``out=``.

``cases(rng, dtype, large=False)`` builds them; ``large=True`` makes the
convolutions big enough (well above ``MIN_PARALLEL_WORK``) to run parallel
regions. Calculators, which take shapes only, are listed separately
(:func:`shape_cases`).
"""
from dataclasses import dataclass, field

import numpy as np

import fastconv


@dataclass
class Case:
    name: str
    fn: object
    args: list
    kwargs: dict = field(default_factory=dict)
    out: bool = False            # accepts out=

    def __call__(self, args=None, kwargs=None):
        return self.fn(*(self.args if args is None else args),
                       **(self.kwargs if kwargs is None else kwargs))

    @property
    def array_slots(self):
        """(kind, key) of every ndarray argument: ("arg", index) or ("kw", name)."""
        slots = [("arg", i) for i, a in enumerate(self.args) if isinstance(a, np.ndarray)]
        slots += [("kw", k) for k, v in self.kwargs.items() if isinstance(v, np.ndarray)]
        return slots

    def get(self, slot):
        return self.args[slot[1]] if slot[0] == "arg" else self.kwargs[slot[1]]


def _plan_call(nd):
    plan = getattr(fastconv, f"plan_conv{nd}d")

    def call(x, weight, bias=None, **kwargs):
        return plan(weight, x.shape, bias, **kwargs)(x)

    call.__name__ = f"plan_conv{nd}d"
    return call


def _octave_merge(x_high, x_low):
    return fastconv.octave_merge(x_high, x_low)


def cases(rng, dtype=np.float64, large=False, batch=None):
    """Every public function that takes arrays, with small valid arguments;
    ``batch``: the batch size (and the length of the leading axis of the
    arrays that have no batch), 2 by default, 3 when ``large``."""
    def a(*shape):
        return rng.standard_normal(shape).astype(dtype)

    g = fastconv.grad
    b = batch if batch is not None else (2 if not large else 3)
    c = 6 if not large else 24
    s1 = 23 if not large else 1501
    s2 = (13, 11) if not large else (47, 45)
    s3 = (5, 7, 6) if not large else (11, 13, 12)
    kw2 = dict(stride=(1, 2), padding=((1, 0), (2, 1)), dilation=(2, 1), groups=2)
    x1, x2, x3 = a(b, c, s1), a(b, c, *s2), a(b, c, *s3)
    w1, w2, w3 = a(8, c // 2, 3), a(8, c // 2, 3, 3), a(8, c // 2, 3, 2, 3)
    bias = a(8)
    out2 = fastconv.conv_output_shape(x2.shape, w2.shape, **{k: kw2[k] for k in
                                                             ("stride", "padding", "dilation")})
    gy2 = a(*out2)
    out1 = fastconv.conv_output_shape(x1.shape, w1.shape, stride=2, padding=1)
    gy1 = a(*out1)
    out3 = fastconv.conv_output_shape(x3.shape, w3.shape, padding=1)
    gy3 = a(*out3)
    wt1, wt2, wt3 = a(c, 4, 3), a(c, 4, 3, 3), a(c, 4, 2, 3, 2)
    tkw = dict(stride=2, padding=1, output_padding=1, groups=2)
    yt1 = fastconv.conv_transpose_output_shape(x1.shape, wt1.shape, **tkw)
    yt2 = fastconv.conv_transpose_output_shape(x2.shape, wt2.shape, **tkw)
    yt3 = fastconv.conv_transpose_output_shape(x3.shape, wt3.shape, stride=(1, 2, 1),
                                               padding=1, groups=2)
    dw = a(2 * c, 1, 3, 3)
    pw = a(7, 2 * c, 1, 1)
    col, row = a(8, c // 2, 3, 1), a(6, 4, 1, 3)
    hh = (16, 14) if not large else (48, 44)
    xh, xl = a(b, 4, *hh), a(b, 2, hh[0] // 2, hh[1] // 2)
    whh, whl, wlh, wll = a(3, 4, 3, 3), a(5, 4, 3, 3), a(3, 2, 3, 3), a(5, 2, 3, 3)
    img = a(*((29, 31) if not large else (301, 299)))
    sig = a(101 if not large else 20001)
    if batch is not None and batch < 2:      # the signals' leading axis too
        img, sig = img[:batch], sig[:batch * 50]
    yd = fastconv.depthwise_conv2d(x2, dw, padding=1, stride=(2, 1))
    ys = fastconv.separable_conv2d(x2, dw, pw, padding=1)
    ysp = fastconv.spatially_separable_conv2d(x2, col, row, padding=1, groups=2)
    yh, yl = fastconv.octave_conv2d(xh, xl, whh, whl, wlh, wll, padding=1)
    return [
        Case("conv1d", fastconv.conv1d, [x1, w1, bias], dict(stride=2, padding=1, groups=2),
             out=True),
        Case("conv2d", fastconv.conv2d, [x2, w2, bias], dict(kw2, padding_mode="zeros"),
             out=True),
        Case("conv2d-reflect", fastconv.conv2d, [x2, w2, bias],
             dict(padding=1, padding_mode="reflect", groups=2), out=True),
        Case("conv3d", fastconv.conv3d, [x3, w3, bias], dict(padding=1, groups=2), out=True),
        Case("conv2d-winograd", fastconv.conv2d, [x2, a(8, c, 3, 3)],
             dict(padding=1, algorithm="winograd"), out=True),
        Case("conv2d-im2col", fastconv.conv2d, [x2, w2], dict(padding=2, groups=2,
                                                             algorithm="im2col"), out=True),
        Case("conv_transpose1d", fastconv.conv_transpose1d, [x1, wt1, a(8)], tkw, out=True),
        Case("conv_transpose2d", fastconv.conv_transpose2d, [x2, wt2, a(8)], tkw, out=True),
        Case("conv_transpose2d-im2col", fastconv.conv_transpose2d, [x2, wt2],
             dict(tkw, algorithm="im2col"), out=True),
        Case("conv_transpose3d", fastconv.conv_transpose3d, [x3, wt3],
             dict(stride=(1, 2, 1), padding=1, groups=2), out=True),
        Case("depthwise_conv2d", fastconv.depthwise_conv2d, [x2, dw, a(2 * c)],
             dict(padding=1, stride=(2, 1)), out=True),
        Case("separable_conv2d", fastconv.separable_conv2d, [x2, dw, pw, a(7)],
             dict(padding=1), out=True),
        Case("spatially_separable_conv2d", fastconv.spatially_separable_conv2d,
             [x2, col, row, a(6)], dict(padding=1, groups=2), out=True),
        Case("separate", fastconv.separate, [np.outer(a(5), a(4))]),
        Case("octave_conv2d", fastconv.octave_conv2d, [xh, xl, whh, whl, wlh, wll, a(3), a(5)],
             dict(padding=1)),
        Case("octave_split", fastconv.octave_split, [a(b, 6, *hh), 0.5]),
        Case("octave_merge", _octave_merge, [xh, xl]),
        Case("correlate-2d", fastconv.correlate, [img, a(5, 4)],
             dict(mode="same", boundary="reflect"), out=True),
        Case("convolve-1d", fastconv.convolve, [sig, a(9)], dict(mode="full"), out=True),
        Case("correlate-fft", fastconv.correlate, [img, a(7, 6)], dict(algorithm="fft"),
             out=True),
        Case("plan_conv1d", _plan_call(1), [x1, w1, bias], dict(stride=2, padding=1, groups=2)),
        Case("plan_conv2d", _plan_call(2), [x2, w2, bias], kw2),
        Case("plan_conv3d", _plan_call(3), [x3, w3], dict(padding=1, groups=2)),
        Case("grad.bias", g.bias, [gy2]),
        Case("grad.conv1d_input", g.conv1d_input, [x1.shape, w1, gy1],
             dict(stride=2, padding=1, groups=2)),
        Case("grad.conv1d_weight", g.conv1d_weight, [x1, w1.shape, gy1],
             dict(stride=2, padding=1, groups=2)),
        Case("grad.conv2d_input", g.conv2d_input, [x2.shape, w2, gy2], kw2),
        Case("grad.conv2d_weight", g.conv2d_weight, [x2, w2.shape, gy2], kw2),
        Case("grad.conv3d_input", g.conv3d_input, [x3.shape, w3, gy3],
             dict(padding=1, groups=2)),
        Case("grad.conv3d_weight", g.conv3d_weight, [x3, w3.shape, gy3],
             dict(padding=1, groups=2, padding_mode="circular")),
        Case("grad.conv_transpose1d_input", g.conv_transpose1d_input, [x1.shape, wt1, a(*yt1)],
             tkw),
        Case("grad.conv_transpose1d_weight", g.conv_transpose1d_weight,
             [x1, wt1.shape, a(*yt1)], tkw),
        Case("grad.conv_transpose2d_input", g.conv_transpose2d_input, [x2.shape, wt2, a(*yt2)],
             tkw),
        Case("grad.conv_transpose2d_weight", g.conv_transpose2d_weight,
             [x2, wt2.shape, a(*yt2)], tkw),
        Case("grad.conv_transpose3d_input", g.conv_transpose3d_input,
             [x3.shape, wt3, a(*yt3)], dict(stride=(1, 2, 1), padding=1, groups=2)),
        Case("grad.conv_transpose3d_weight", g.conv_transpose3d_weight,
             [x3, wt3.shape, a(*yt3)], dict(stride=(1, 2, 1), padding=1, groups=2)),
        Case("grad.depthwise_conv2d", g.depthwise_conv2d, [x2, dw, a(*yd.shape)],
             dict(padding=1, stride=(2, 1))),
        Case("grad.separable_conv2d", g.separable_conv2d, [x2, dw, pw, a(*ys.shape)],
             dict(padding=1)),
        Case("grad.spatially_separable_conv2d", g.spatially_separable_conv2d,
             [x2, col, row, a(*ysp.shape)], dict(padding=1, groups=2)),
        Case("grad.octave_conv2d", g.octave_conv2d,
             [xh, xl, whh, whl, wlh, wll, a(*yh.shape), a(*yl.shape)], dict(padding=1)),
    ]


def shape_cases():
    """The public functions that take shapes only (calculators)."""
    return [
        Case("conv_output_shape", fastconv.conv_output_shape, [(2, 6, 13, 11), (8, 3, 3, 3)],
             dict(stride=2, padding="same")),
        Case("conv_transpose_output_shape", fastconv.conv_transpose_output_shape,
             [(2, 6, 13, 11), (6, 4, 3, 3)], dict(stride=2, padding=1, groups=2)),
        Case("count_macs", fastconv.count_macs, ["conv2d", (2, 6, 13, 11), (8, 3, 3, 3)],
             dict(groups=2)),
        Case("count_params", fastconv.count_params, [(8, 3, 3, 3)], dict(bias=True)),
        Case("receptive_field", fastconv.receptive_field, [[{"kernel_size": 7, "stride": 2},
                                                          {"kernel_size": 3, "dilation": 2}]]),
    ]


def results(value):
    """A call's arrays, flattened out of tuples and named tuples (None dropped)."""
    if isinstance(value, tuple):
        out = []
        for v in value:
            out.extend(results(v))
        return out
    if value is None:
        return []
    return [np.asarray(value)]


#: Memory layouts ``relayout`` makes: the same values in other memory.
MEMORY_LAYOUTS = ("contiguous", "fortran", "reversed", "strided", "swapped", "misaligned")


def relayout(a, kind):
    """``a``'s values in the memory layout ``kind`` (one of MEMORY_LAYOUTS)."""
    a = np.asarray(a)
    if kind == "contiguous" or a.ndim == 0:
        return np.ascontiguousarray(a)
    if kind == "fortran":
        return np.asfortranarray(a)
    if kind == "reversed":
        return np.flip(np.ascontiguousarray(np.flip(a)))
    if kind == "strided":
        return np.repeat(a, 2, axis=-1)[..., ::2]
    if kind == "swapped":
        return a.astype(a.dtype.newbyteorder("S"))
    if kind == "misaligned":
        if a.dtype.itemsize == 1:
            return a.copy()
        buf = np.zeros(a.nbytes + 1, np.uint8)
        view = buf[1:].view(a.dtype).reshape(a.shape)
        view[...] = a
        return view
    raise ValueError(kind)
