"""Complex inputs of the variants (separable, spatially separable, octave) and
of the complex FFT path of correlate/convolve.

Oracles: ``fastconv.reference`` (real float64 definitions) applied to the real
and imaginary parts of each factor and combined as complex numbers (every
variant is linear in each group of factors, so its complex value is that sum,
computed independently of fastconv's kernels), SciPy's complex
``scipy.signal`` functions, and PyTorch on complex128 tensors where installed.
"""
import itertools
import math

import numpy as np
import pytest

import fastconv
import fastconv.signal
from fastconv import _dispatch, _signal, reference

from test_complex_conv import COMPLEX, REAL_OF, assert_complex_close, crandn


def complex_oracle(f, *groups):
    """``f`` (real float64 arrays in, an array or a tuple of arrays out) of
    complex arguments, ``f`` being linear in each group of its arguments
    jointly: the sum over the real/imaginary part of each group, times
    ``1j`` per imaginary part. ``groups``: tuples of arrays (None kept)."""
    total = None
    for choice in itertools.product((np.real, np.imag), repeat=len(groups)):
        args = [None if a is None else np.asarray(pick(np.asarray(a, np.complex128)))
                for pick, g in zip(choice, groups) for a in g]
        res = f(*args)
        res = res if isinstance(res, tuple) else (res,)
        coef = 1j ** sum(pick is np.imag for pick in choice)
        terms = tuple(None if r is None else coef * r for r in res)
        total = terms if total is None else tuple(
            None if t is None else t + u for t, u in zip(total, terms))
    return total if len(total) > 1 else total[0]


def with_bias(y, bias, axis=-3):
    if bias is None:
        return y
    shape = [1] * y.ndim
    shape[axis] = -1
    return y + np.asarray(bias, np.complex128).reshape(shape)


def cast(rng, shape, dtype, complex_):
    """A random array of ``dtype`` (complex) or of its real dtype."""
    return crandn(rng, shape, dtype if complex_ else REAL_OF[np.dtype(dtype)])


# --------------------------------------------------------------------------
# separable_conv2d (fused depthwise + pointwise)
# --------------------------------------------------------------------------
SEPARABLE_CASES = [
    # x shape, depthwise weight, pointwise weight, kwargs
    ((2, 3, 13, 11), (6, 1, 3, 3), (5, 6, 1, 1), dict(padding=1)),
    ((1, 4, 17, 13), (4, 1, 5, 3), (7, 4, 1, 1), dict(stride=2, padding=(2, 1), dilation=1)),
    ((3, 9, 10), (6, 1, 3, 3), (4, 6, 1, 1), dict(padding=2, dilation=2,
                                                  padding_mode="reflect")),
]
# Which of (input, depthwise_weight, pointwise_weight, bias) are complex.
WHICH = [(1, 1, 1, 1), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (1, 1, 0, 1),
         (0, 1, 1, 0)]


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("case", range(len(SEPARABLE_CASES)))
def test_separable_matches_the_reference(rng, case, dtype):
    xs, ds, ps, kwargs = SEPARABLE_CASES[case]
    for which in WHICH:
        x, dw, pw = (cast(rng, s, dtype, c) for s, c in zip((xs, ds, ps), which))
        b = cast(rng, ps[:1], dtype, which[3])
        copies = [a.copy() for a in (x, dw, pw, b)]
        expected = with_bias(complex_oracle(
            lambda xr, dr, pr: reference.separable_conv2d(xr, dr, pr, None, **kwargs),
            (x,), (dw,), (pw,)), b)
        algorithms = ("auto", "direct", "im2col") + (("winograd",) if ds[2:] == (3, 3)
                                                     and "stride" not in kwargs else ())
        for algorithm in algorithms:
            y = fastconv.separable_conv2d(x, dw, pw, b, algorithm=algorithm, **kwargs)
            assert_complex_close(y, expected, dtype,
                                 math.prod(ds[2:]) * (16 if algorithm == "winograd" else 1)
                                 * ps[1] + 1)
        for a, a0 in zip((x, dw, pw, b), copies):
            np.testing.assert_array_equal(a, a0)        # inputs unchanged


def test_separable_promotes_as_numpy_and_writes_out(rng):
    x = crandn(rng, (1, 3, 9, 8), np.complex64)
    dw = rng.standard_normal((3, 1, 3, 3)).astype(np.float32)
    pw = crandn(rng, (2, 3, 1, 1), np.complex128)
    y = fastconv.separable_conv2d(x, dw, pw, padding=1)
    assert y.dtype == np.complex128
    y32 = fastconv.separable_conv2d(x, dw, pw.astype(np.complex64), padding=1)
    assert y32.dtype == np.complex64
    out = np.empty((1, 2, 9, 8), np.complex128)
    assert fastconv.separable_conv2d(x, dw, pw, padding=1, out=out) is out
    np.testing.assert_array_equal(out, y)
    with pytest.raises(ValueError, match="out has dtype float64.*complex128"):
        fastconv.separable_conv2d(x, dw, pw, padding=1, out=np.empty((1, 2, 9, 8)))
    with pytest.raises(ValueError, match=r"pointwise_weight must have shape"):
        fastconv.separable_conv2d(x, dw, pw[:, :2], padding=1)
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        fastconv.separable_conv2d(x, dw, pw, np.ones(3, complex), padding=1)


def test_separable_results_do_not_depend_on_the_thread_count(rng):
    x, dw = crandn(rng, (2, 8, 29, 31), np.complex64), crandn(rng, (8, 1, 3, 3), np.complex64)
    pw = crandn(rng, (16, 8, 1, 1), np.complex64)
    before = fastconv.get_num_threads()
    try:
        results = []
        for n in (1, 2):
            fastconv.set_num_threads(n)
            results.append(fastconv.separable_conv2d(x, dw, pw, padding=1))
    finally:
        fastconv.set_num_threads(before)
    np.testing.assert_array_equal(results[0], results[1])


# --------------------------------------------------------------------------
# spatially separable
# --------------------------------------------------------------------------
SPATIAL_CASES = [
    ((2, 4, 13, 11), (6, 2, 3, 1), (4, 3, 1, 5), dict(padding="same", groups=2)),
    ((1, 3, 16, 13), (5, 3, 5, 1), (2, 5, 1, 3), dict(stride=(2, 1), padding=(2, 1),
                                                      dilation=(1, 2))),
    ((3, 12, 9), (4, 3, 3, 1), (3, 4, 1, 3), dict(padding=1, padding_mode="circular")),
]


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("case", range(len(SPATIAL_CASES)))
def test_spatially_separable_matches_the_reference(rng, case, dtype):
    xs, cs, rs, kwargs = SPATIAL_CASES[case]
    for which in WHICH:
        x, cw, rw = (cast(rng, s, dtype, c) for s, c in zip((xs, cs, rs), which))
        b = cast(rng, rs[:1], dtype, which[3])
        expected = with_bias(complex_oracle(
            lambda xr, cr, rr: reference.spatially_separable_conv2d(xr, cr, rr, None,
                                                                    **kwargs),
            (x,), (cw,), (rw,)), b)
        for algorithm in ("auto", "direct", "im2col"):
            y = fastconv.spatially_separable_conv2d(x, cw, rw, b, algorithm=algorithm,
                                                    **kwargs)
            assert_complex_close(y, expected, dtype, cs[1] * cs[2] * rs[1] * rs[3] + 1)


# --------------------------------------------------------------------------
# octave
# --------------------------------------------------------------------------
OCTAVE_CASES = [
    # x_high, x_low (None: first layer), channels out (high, low: 0 = last layer), kwargs
    ((2, 4, 12, 10), (2, 3, 6, 5), (5, 2), dict(padding=1)),
    ((1, 3, 16, 12), (1, 2, 8, 6), (2, 3), dict(padding="same", stride=2)),
    ((3, 12, 8), None, (4, 2), dict(padding=1)),
    ((2, 4, 12, 10), (2, 3, 6, 5), (3, 0), dict(padding=1)),
]


def _octave_arrays(rng, case, dtype, x_complex, w_complex):
    xhs, xls, (cho, clo), kwargs = OCTAVE_CASES[case]
    c_hi, c_li = xhs[-3], (xls[-3] if xls else 0)
    xh = cast(rng, xhs, dtype, x_complex)
    xl = None if xls is None else cast(rng, xls, dtype, x_complex)
    w = {"w_hh": (cho, c_hi), "w_hl": (clo, c_hi) if clo else None,
         "w_lh": (cho, c_li) if xls else None, "w_ll": (clo, c_li) if xls and clo else None}
    ws = [None if s is None else cast(rng, s + (3, 3), dtype, w_complex) for s in w.values()]
    bh = cast(rng, (cho,), dtype, True)
    bl = cast(rng, (clo,), dtype, True) if clo else None
    return xh, xl, ws, bh, bl, kwargs


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("case", range(len(OCTAVE_CASES)))
def test_octave_matches_the_reference(rng, case, dtype):
    for x_complex, w_complex in ((True, True), (True, False), (False, True)):
        xh, xl, ws, bh, bl, kwargs = _octave_arrays(rng, case, dtype, x_complex, w_complex)
        exp_h, exp_l = complex_oracle(
            lambda h, lo, *w: reference.octave_conv2d(h, lo, *w, **kwargs), (xh, xl), ws)
        exp_h = with_bias(exp_h, bh)
        exp_l = None if exp_l is None else with_bias(exp_l, bl)
        for algorithm in ("auto", "direct", "im2col", "winograd"):
            yh, yl = fastconv.octave_conv2d(xh, xl, *ws, bh, bl, algorithm=algorithm,
                                            **kwargs)
            n_terms = 9 * (16 if algorithm == "winograd" else 1) * (xh.shape[-3] + 4) + 1
            assert_complex_close(yh, exp_h, dtype, n_terms)
            if exp_l is None:
                assert yl is None
            else:
                assert_complex_close(yl, exp_l, dtype, n_terms)


def test_octave_split_and_merge_take_complex(rng):
    x = crandn(rng, (2, 5, 8, 6), np.complex64)
    xh, xl = fastconv.octave_split(x, 0.4)
    assert xh.dtype == xl.dtype == np.complex64
    rh, rl = fastconv.octave_split(x.real, 0.4)
    ih, il = fastconv.octave_split(x.imag, 0.4)
    np.testing.assert_array_equal(xh, rh + 1j * ih)
    np.testing.assert_allclose(xl, rl + 1j * il, rtol=1e-6)
    merged = fastconv.octave_merge(xh, xl)
    assert merged.dtype == np.complex64
    np.testing.assert_array_equal(merged, fastconv.octave_merge(rh, rl)
                                  + 1j * fastconv.octave_merge(ih, il))


def test_variants_errors_name_the_argument_and_dtype(rng):
    x, w = crandn(rng, (1, 3, 8, 8)), crandn(rng, (3, 1, 3, 3))
    pw = crandn(rng, (2, 3, 1, 1))
    with pytest.raises(TypeError, match="kernel has dtype complex128"):
        fastconv.separate(w[0, 0])
    if hasattr(np, "clongdouble") and np.dtype(np.clongdouble).itemsize > 16:
        with pytest.raises(TypeError, match="pointwise_weight has dtype complex"):
            fastconv.separable_conv2d(x, w, pw.astype(np.clongdouble))
        with pytest.raises(TypeError, match="grad_output has dtype complex"):
            fastconv.grad.spatially_separable_conv2d(
                x, np.ones((2, 3, 3, 1)), np.ones((2, 2, 1, 3)),
                np.ones((1, 2, 6, 6), np.clongdouble))
        with pytest.raises(TypeError, match="w_ll has dtype complex"):
            fastconv.octave_conv2d(x, x[..., ::2, ::2], np.ones((2, 3, 3, 3)),
                                   np.ones((2, 3, 3, 3)), np.ones((2, 3, 3, 3)),
                                   np.ones((2, 3, 3, 3), np.clongdouble), padding=1)


# --------------------------------------------------------------------------
# PyTorch as the oracle (where installed)
# --------------------------------------------------------------------------
def _torch():
    return pytest.importorskip("torch")


def _t(a):
    return _torch().from_numpy(np.ascontiguousarray(a, np.complex128))


def test_variants_match_torch(rng):
    F = _torch().nn.functional
    x, dw = crandn(rng, (2, 4, 13, 11)), crandn(rng, (8, 1, 3, 3))
    pw, b = crandn(rng, (5, 8, 1, 1)), crandn(rng, (5,))
    z = F.conv2d(_t(x), _t(dw), None, 1, 1, 1, 4)
    expected = F.conv2d(z, _t(pw), _t(b)).numpy()
    assert_complex_close(fastconv.separable_conv2d(x, dw, pw, b, padding=1), expected,
                         np.complex128, 9 * 8 + 1)

    cw, rw = crandn(rng, (6, 4, 3, 1)), crandn(rng, (3, 6, 1, 5))
    z = F.conv2d(_t(x), _t(cw), None, (2, 1), (1, 0))
    expected = F.conv2d(z, _t(rw), _t(b[:3]), 1, (0, 2)).numpy()
    y = fastconv.spatially_separable_conv2d(x, cw, rw, b[:3], stride=(2, 1), padding=(1, 2))
    assert_complex_close(y, expected, np.complex128, 3 * 4 * 5 * 6 + 1)

    xh, xl, ws, bh, bl, kwargs = _octave_arrays(rng, 0, np.complex128, True, True)
    w_hh, w_hl, w_lh, w_ll = (_t(w) for w in ws)

    def pool(t):
        n, c, h, w = t.shape
        return t.reshape(n, c, h // 2, 2, w // 2, 2).mean(dim=(3, 5))
    th, tl = _t(xh), _t(xl)
    low_to_high = F.conv2d(tl, w_lh, None, 1, 1)
    exp_h = (F.conv2d(th, w_hh, _t(bh), 1, 1)
             + low_to_high.repeat_interleave(2, 2).repeat_interleave(2, 3))
    exp_l = F.conv2d(tl, w_ll, _t(bl), 1, 1) + F.conv2d(pool(th), w_hl, None, 1, 1)
    yh, yl = fastconv.octave_conv2d(xh, xl, *ws, bh, bl, **kwargs)
    assert_complex_close(yh, exp_h.numpy(), np.complex128, 9 * 7 + 1)
    assert_complex_close(yl, exp_l.numpy(), np.complex128, 9 * 7 + 1)


def test_variant_gradients_match_torch(rng):
    """PyTorch's conjugate (Wirtinger) convention, as for the other gradients:
    ``torch.autograd`` through the same composition of complex convolutions."""
    torch = _torch()
    F = torch.nn.functional

    def check(got, tensors, n_terms):
        for g, t in zip(got, tensors):
            assert_complex_close(g, t.grad.numpy(), np.complex128, n_terms)

    x, dw = crandn(rng, (2, 4, 13, 11)), crandn(rng, (8, 1, 3, 3))
    pw, b = crandn(rng, (5, 8, 1, 1)), crandn(rng, (5,))
    ts = [_t(a).requires_grad_() for a in (x, dw, pw, b)]
    y = F.conv2d(F.conv2d(ts[0], ts[1], None, 1, 1, 1, 4), ts[2], ts[3])
    gy = crandn(rng, tuple(y.shape))
    y.backward(_t(gy))
    check(fastconv.grad.separable_conv2d(x, dw, pw, gy, padding=1), ts, 2 * gy[:, 0].size)

    cw, rw = crandn(rng, (6, 2, 3, 1)), crandn(rng, (4, 3, 1, 5))
    ts = [_t(a).requires_grad_() for a in (x, cw, rw)]
    y = F.conv2d(F.conv2d(F.pad(ts[0], (2, 2, 1, 1), mode="reflect"), ts[1], None, (2, 1),
                          groups=2), ts[2], None, 1, groups=2)
    gy = crandn(rng, tuple(y.shape))
    y.backward(_t(gy))
    g = fastconv.grad.spatially_separable_conv2d(x, cw, rw, gy, stride=(2, 1),
                                                 padding=(1, 2), groups=2,
                                                 padding_mode="reflect")
    check(g[:3], ts, 2 * gy[:, 0].size)
    assert_complex_close(g.bias, gy.sum(axis=(0, 2, 3)), np.complex128, gy[:, 0].size)

    xh, xl, ws, bh, bl, kwargs = _octave_arrays(rng, 1, np.complex128, True, True)
    ts = [_t(a).requires_grad_() for a in (xh, xl, *ws)]
    th, tl, w_hh, w_hl, w_lh, w_ll = ts

    def pool(t):
        n, c, h, w = t.shape
        return t.reshape(n, c, h // 2, 2, w // 2, 2).mean(dim=(3, 5))
    th2, tl2 = pool(th), pool(tl)       # stride 2
    y_high = (F.conv2d(th2, w_hh, None, 1, 1)
              + F.conv2d(tl2, w_lh, None, 1, 1).repeat_interleave(2, 2).repeat_interleave(2, 3))
    y_low = F.conv2d(tl2, w_ll, None, 1, 1) + F.conv2d(pool(th2), w_hl, None, 1, 1)
    gh, gl = crandn(rng, tuple(y_high.shape)), crandn(rng, tuple(y_low.shape))
    torch.autograd.backward([y_high, y_low], [_t(gh), _t(gl)])
    g = fastconv.grad.octave_conv2d(xh, xl, *ws, gh, gl, **kwargs)
    check(g[:6], ts, 4 * gh[:, 0].size)
    assert_complex_close(g.bias_high, gh.sum(axis=(0, 2, 3)), np.complex128, gh[:, 0].size)


# --------------------------------------------------------------------------
# correlate/convolve: the complex FFT path
# --------------------------------------------------------------------------
def _scipy():
    return pytest.importorskip("scipy.signal")


class _Counting:
    """An FFT module that counts its calls (the real backend's functions)."""

    def __init__(self, module):
        self.module, self.calls = module, []

    def __getattr__(self, name):
        fn = getattr(self.module, name)

        def counted(*args, **kwargs):
            self.calls.append(name)
            return fn(*args, **kwargs)
        return counted


def test_fft_transforms_complex_arrays_as_they_are(rng, monkeypatch):
    backend, upcast = _signal.fft_backend()
    counting = _Counting(backend)
    monkeypatch.setattr(_signal, "fft_backend", lambda: (counting, upcast))
    a, v = crandn(rng, (61, 47)), crandn(rng, (9, 7))
    y = fastconv.correlate(a, v, algorithm="fft")
    # One forward transform per operand (the kernel's one axis at a time), one
    # inverse (one axis at a time): complex transforms, no real one of a part.
    transforms = [c for c in counting.calls if c != "next_fast_len"]
    assert sorted(transforms) == ["fft", "fft", "fftn", "ifft", "ifft"]
    assert_complex_close(y, _scipy().correlate(a, v, method="direct"), np.complex128, 0,
                         rel=1e-12)


FFT_CASES = [
    ((1500,), (31,)),           # overlap-save blocks along a long signal
    ((301, 23), (3, 5)),        # blocks along the first axis only
    ((41, 37), (11, 9)),        # one transform
    ((13, 11, 9), (3, 4, 5)),
    ((7, 9), (12, 10)),         # the kernel larger than the input: they swap roles
]


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("shapes", FFT_CASES, ids=str)
def test_fft_matches_scipy(rng, shapes, dtype):
    signal = _scipy()
    rel = {np.complex64: 3e-5, np.complex128: 1e-11}[dtype]
    for x_c, w_c in ((True, True), (True, False), (False, True)):
        a, v = cast(rng, shapes[0], dtype, x_c), cast(rng, shapes[1], dtype, w_c)
        a128, v128 = a.astype(np.complex128), v.astype(np.complex128)
        for mode in ("full", "same", "valid"):
            for name in ("correlate", "convolve"):
                expected = getattr(signal, name)(a128, v128, mode, method="direct")
                y = getattr(fastconv, name)(a, v, mode, algorithm="fft")
                assert_complex_close(y, expected, dtype, 0, rel=rel)
                y = getattr(fastconv.signal, name)(a, v, mode, method="fft")
                assert_complex_close(y, expected, np.result_type(a, v), 0, rel=rel)


def test_fft_boundaries_fill_channels_out(rng):
    signal = _scipy()
    a, v = crandn(rng, (40, 33, 2)), crandn(rng, (5, 4))
    for boundary in ("fill", "reflect", "wrap"):
        pad = {"fill": "constant", "reflect": "symmetric", "wrap": "wrap"}[boundary]
        extra = {"constant_values": 0.5 - 2j} if boundary == "fill" else {}
        out = np.empty((40, 33, 2), np.complex128)
        y = fastconv.correlate(a, v, "same", boundary=boundary, fillvalue=0.5 - 2j,
                               algorithm="fft", out=out)
        assert y is out
        for c in range(2):
            ext = np.pad(a[..., c], [(4, 4), (3, 3)], mode=pad, **extra)
            expected = signal.correlate(ext, v, "valid", method="direct")[2:42, 1:34]
            assert_complex_close(out[..., c], expected, np.complex128, 0, rel=1e-12)
    # A real input, complex weights and a complex fill: the input is extended
    # by both parts of the fill.
    r = rng.standard_normal((30, 20))
    y = fastconv.correlate(r, v, boundary="fill", fillvalue=1 + 2j, algorithm="fft")
    assert_complex_close(y, signal.correlate2d(r, v, boundary="fill", fillvalue=1 + 2j),
                         np.complex128, 0, rel=1e-12)


def test_fft_results_do_not_depend_on_the_thread_count(rng):
    a, v = crandn(rng, (3000,), np.complex64), crandn(rng, (41,), np.complex64)
    b, w = crandn(rng, (101, 97)), crandn(rng, (9, 9))
    before = fastconv.get_num_threads()
    try:
        results = []
        for n in (1, 2):
            fastconv.set_num_threads(n)
            results.append([fastconv.convolve(a, v, algorithm="fft"),
                            fastconv.correlate(b, w, "same", algorithm="fft")])
    finally:
        fastconv.set_num_threads(before)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_auto_prices_complex_arrays(rng):
    """Off the FFT, a complex correlation costs its real products; the FFT
    ``FFT_COMPLEX`` real FFTs; auto follows these prices."""
    # Extended sizes of powers of two: real and complex transforms of one length.
    x, w = np.zeros((248, 504), np.complex64), np.zeros((9, 9), np.complex64)
    real = _signal.algorithm_costs(x.real, w.real, (248, 504))
    costs = _signal.algorithm_costs(x, w, (248, 504))
    products = fastconv._complex.PRODUCTS["scipy"]
    assert costs["direct"] == pytest.approx(products * real["direct"])
    assert costs["fft"] == pytest.approx(_signal._COST["FFT_COMPLEX"] * real["fft"])
    mixed = _signal.algorithm_costs(x.real, w, (248, 504))
    assert mixed["direct"] == pytest.approx(2 * real["direct"])
    # A long signal with many taps: the FFT; a small kernel: the direct sum.
    for shapes, want in ((((20000,), (301,)), "fft"), (((2000,), (5,)), "direct")):
        a, v = crandn(rng, shapes[0], np.complex64), crandn(rng, shapes[1], np.complex64)
        with _dispatch.recording() as chosen:
            y = fastconv.correlate(a, v, "same")
        assert chosen[0] == want
        expected = fastconv.correlate(a, v, "same", algorithm="direct")
        scale = float(np.abs(expected).max())
        np.testing.assert_allclose(y, expected, rtol=0, atol=3e-5 * scale)
        assert fastconv.signal.choose_conv_method(a, v, "same") == want


def test_auto_filters_a_complex_image_with_a_rank1_kernel_in_two_passes(rng):
    """Off the FFT, auto's choice for the parts: a rank-1 kernel (here real,
    and complex with rank-1 parts) runs as two 1-D passes per part."""
    a = crandn(rng, (97, 101))
    g = np.exp(-0.5 * np.linspace(-2, 2, 9) ** 2)
    for v in (np.outer(g, g), np.outer(g, g) * (1 - 2j)):
        with _dispatch.recording() as chosen:
            y = fastconv.correlate(a, v, "same", boundary="reflect")
        assert chosen and set(chosen) == {"separable"}, chosen
        expected = fastconv.correlate(a, v, "same", boundary="reflect", algorithm="direct")
        assert_complex_close(y, expected, np.complex128, 2 * v.size)
