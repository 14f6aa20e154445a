"""Complex inputs of the public convolutions, correlations and their gradients.

Oracles, all independent of fastconv's kernels and of ``fastconv.reference``:
a complex128 NumPy definition of the convolution (``np_conv`` below, sums of
strided slices), SciPy's complex ``scipy.signal.correlate``/``correlate2d``,
the adjoint identities of the transposed convolution and of the gradients,
and PyTorch (``torch.nn.functional`` and ``torch.autograd`` on complex128
tensors) where it is installed.
"""
import itertools
import math

import numpy as np
import pytest

import fastconv
from fastconv import _complex, grad

from conftest import tolerance

COMPLEX = (np.complex64, np.complex128)
REAL_OF = {np.dtype(np.complex64): np.float32, np.dtype(np.complex128): np.float64}
NUMPY_PAD = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
             "circular": "wrap"}


def crandn(rng, shape, dtype=np.complex128):
    dtype = np.dtype(dtype)
    if dtype.kind != "c":
        return rng.standard_normal(shape).astype(dtype)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


def assert_complex_close(actual, expected, dtype, n_terms, rel=None):
    """``actual`` (of ``dtype``) against a complex128 oracle: each part within
    the real tolerance of twice the terms (a complex product sums two real
    products per part), doubled for Gauss's three-product form (its imaginary
    part is a difference of terms about twice as large); ``rel``: a bound
    relative to max|expected| instead (the FFT)."""
    dtype = np.dtype(dtype)
    assert actual.dtype == dtype, (actual.dtype, dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    if rel is not None:
        atol = rel * max(scale, 1.0)
    else:
        atol = 2 * tolerance(REAL_OF.get(dtype, dtype), 2 * n_terms, scale)
    for part in (np.real, np.imag):
        np.testing.assert_allclose(part(actual).astype(np.float64), part(expected), rtol=0,
                                   atol=atol)


def _pairs(v, nd):
    v = (v,) * nd if isinstance(v, int) else v
    return [(p, p) if isinstance(p, int) else tuple(p) for p in v]


def np_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """PyTorch's conv{nd}d in complex128, as sums of strided slices (batched input)."""
    nd = w.ndim - 2
    x = np.asarray(x, np.complex128)
    w = np.asarray(w, np.complex128)
    stride = (stride,) * nd if isinstance(stride, int) else stride
    dilation = (dilation,) * nd if isinstance(dilation, int) else dilation
    if padding == "same":       # TensorFlow's rule, the extra element after
        totals = [max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
                  for n, k, s, d in zip(x.shape[2:], w.shape[2:], stride, dilation)]
        padding = [(t // 2, t - t // 2) for t in totals]
    xp = np.pad(x, [(0, 0), (0, 0)] + _pairs(padding, nd), mode=NUMPY_PAD[padding_mode])
    n, c = xp.shape[:2]
    o, cg = w.shape[:2]
    og = o // groups
    out = [(size - d * (k - 1) - 1) // s + 1
           for size, k, s, d in zip(xp.shape[2:], w.shape[2:], stride, dilation)]
    y = np.zeros((n, groups, og) + tuple(out), np.complex128)
    for t in itertools.product(*(range(k) for k in w.shape[2:])):
        sl = tuple(slice(ti * d, ti * d + s * (m - 1) + 1, s)
                   for ti, d, s, m in zip(t, dilation, stride, out))
        xs = xp[(slice(None), slice(None)) + sl].reshape((n, groups, cg) + tuple(out))
        wt = w[(slice(None), slice(None)) + t].reshape(groups, og, cg)
        y += np.einsum("ngc...,goc->ngo...", xs, wt)
    y = y.reshape((n, o) + tuple(out))
    if b is not None:
        y += np.asarray(b, np.complex128).reshape((1, o) + (1,) * nd)
    return y


def vdot(a, b):
    return complex(np.vdot(np.asarray(a, np.complex128), np.asarray(b, np.complex128)))


# --------------------------------------------------------------------------
# conv1d/2d/3d: PyTorch's semantics (no conjugation)
# --------------------------------------------------------------------------
CONV_CASES = [
    # nd, input shape, weight shape, kwargs
    (2, (2, 5, 13, 17), (7, 5, 3, 3), dict(padding=1)),
    (2, (1, 6, 13, 17), (4, 3, 3, 2), dict(stride=(2, 1), padding=((1, 2), (0, 1)),
                                           dilation=(1, 2), groups=2)),
    (2, (2, 5, 13, 17), (5, 1, 3, 3), dict(padding="same", groups=5)),
    (2, (1, 7, 9, 11), (5, 7, 3, 3), dict(padding=2, padding_mode="reflect")),
    (1, (2, 5, 19), (7, 5, 4), dict(stride=2, padding=3, padding_mode="circular")),
    (3, (1, 5, 6, 7, 5), (3, 5, 3, 3, 3), dict(padding=1, padding_mode="replicate")),
]
CONV_ALGORITHMS = ("auto", "direct", "im2col", "winograd")


def _winograd_applies(w, kwargs):
    return all(k in (1, 3) for k in w[2:]) and 3 in w[2:] and kwargs.get("stride", 1) == 1


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_conv_every_algorithm(rng, case, dtype):
    nd, xs, ws, kwargs = CONV_CASES[case]
    x, w, b = crandn(rng, xs, dtype), crandn(rng, ws, dtype), crandn(rng, ws[:1], dtype)
    x0, w0, b0 = x.copy(), w.copy(), b.copy()
    expected = np_conv(x, w, b, **kwargs)
    conv = getattr(fastconv, f"conv{nd}d")
    for algorithm in CONV_ALGORITHMS:
        if algorithm == "winograd" and not _winograd_applies(ws, kwargs):
            with pytest.raises(ValueError, match="winograd"):
                conv(x, w, b, algorithm=algorithm, **kwargs)
            continue
        y = conv(x, w, b, algorithm=algorithm, **kwargs)
        n_terms = math.prod(ws[1:]) * (16 if algorithm == "winograd" else 1) + 1
        assert_complex_close(y, expected, dtype, n_terms)
    for a, a0 in ((x, x0), (w, w0), (b, b0)):
        np.testing.assert_array_equal(a, a0)        # inputs unchanged


@pytest.mark.parametrize("products", (3, 4))
def test_both_product_forms(rng, monkeypatch, products):
    monkeypatch.setitem(_complex.PRODUCTS, "pytorch", products)
    monkeypatch.setitem(_complex.PRODUCTS, "scipy", products)
    x, w = crandn(rng, (1, 5, 13, 17)), crandn(rng, (7, 5, 3, 3))
    assert_complex_close(fastconv.conv2d(x, w, padding=1), np_conv(x, w, padding=1),
                         np.complex128, 45)
    a, v = crandn(rng, (13, 17), np.complex64), crandn(rng, (3, 5), np.complex64)
    assert_complex_close(fastconv.correlate(a, v), _scipy().correlate(a, v, method="direct")
                         .astype(np.complex128), np.complex64, 15)


@pytest.mark.parametrize("x_dtype, w_dtype, b_dtype, expected", [
    (np.complex64, np.float32, None, np.complex64),
    (np.float32, np.complex64, np.float32, np.complex64),
    (np.complex64, np.float64, None, np.complex128),
    (np.float64, np.complex64, None, np.complex128),
    (np.float32, np.float32, np.complex64, np.complex64),
    (np.float32, np.float32, np.complex128, np.complex128),
    (np.int16, np.complex64, None, np.complex64),
    (np.int64, np.complex64, None, np.complex128),
])
def test_mixed_real_and_complex_promote_as_numpy(rng, x_dtype, w_dtype, b_dtype, expected):
    x = crandn(rng, (2, 3, 9, 8), x_dtype) if np.dtype(x_dtype).kind != "i" else \
        rng.integers(-3, 4, (2, 3, 9, 8)).astype(x_dtype)
    w = crandn(rng, (5, 3, 3, 3), w_dtype)
    b = None if b_dtype is None else crandn(rng, (5,), b_dtype)
    y = fastconv.conv2d(x, w, b, padding=1)
    assert y.dtype == expected == np.result_type(*[a for a in (x, w, b) if a is not None],
                                                  np.complex64)
    assert_complex_close(y, np_conv(x, w, b, padding=1), expected, 28)
    if np.iscomplexobj(x) or np.iscomplexobj(w):
        ct = fastconv.correlate(x[0, 0], w[0, 0])
        assert ct.dtype == np.result_type(x, w, np.complex64)


def test_channels_last_and_out(rng):
    x, w, b = crandn(rng, (2, 13, 17, 5)), crandn(rng, (7, 5, 3, 3)), crandn(rng, (7,))
    expected = np.moveaxis(np_conv(np.moveaxis(x, -1, 1), w, b, padding=1), 1, -1)
    out = np.empty(expected.shape, np.complex128)
    y = fastconv.conv2d(x, w, b, padding=1, layout="channels_last", out=out)
    assert y is out
    assert_complex_close(out, expected, np.complex128, 46)
    # Unbatched input: the bias still goes along the channel axis.
    y = fastconv.conv2d(x[0], w, b, padding=1, layout="channels_last")
    assert_complex_close(y, expected[0], np.complex128, 46)
    y = fastconv.conv2d(np.moveaxis(x[0], -1, 0), w, b, padding=1)
    assert_complex_close(y, np.moveaxis(expected[0], -1, 0), np.complex128, 46)


def test_depthwise_is_grouped_conv(rng):
    x, w, b = crandn(rng, (2, 5, 13, 17)), crandn(rng, (10, 1, 5, 5)), crandn(rng, (10,))
    y = fastconv.depthwise_conv2d(x, w, b, stride=2, padding=2)
    assert_complex_close(y, np_conv(x, w, b, stride=2, padding=2, groups=5), np.complex128, 26)


# --------------------------------------------------------------------------
# transposed convolutions: the adjoint of the convolution (bilinear pairing)
# --------------------------------------------------------------------------
TRANSPOSED_CASES = [
    (1, (2, 5, 11), (5, 3, 4), dict(stride=2, padding=1, output_padding=1)),
    (2, (1, 6, 13, 17), (6, 2, 3, 3), dict(stride=(2, 3), padding=1, groups=2, dilation=2)),
    (3, (1, 5, 4, 5, 3), (5, 7, 3, 2, 3), dict(stride=2)),
]


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("case", range(len(TRANSPOSED_CASES)))
def test_conv_transpose_is_the_adjoint(rng, case, dtype):
    nd, xs, ws, kwargs = TRANSPOSED_CASES[case]
    x, w = crandn(rng, xs, dtype), crandn(rng, ws, dtype)
    conv_t = getattr(fastconv, f"conv_transpose{nd}d")
    # The weight (C_in, C_out // groups, *k) of conv_transpose(x) is the weight of
    # the convolution it is the adjoint of, from C_out to C_in channels.
    fwd = {k: v for k, v in kwargs.items() if k != "output_padding"}
    for algorithm in ("auto", "direct", "im2col"):
        y = conv_t(x, w, algorithm=algorithm, **kwargs)
        assert y.dtype == dtype
        z = crandn(rng, y.shape)
        # sum(conv_t(x, w) * z) == sum(x * conv(z, w)) (no conjugation on either side).
        lhs = np.sum(y.astype(np.complex128) * z)
        rhs = np.sum(x.astype(np.complex128) * np_conv(z, w, **fwd))
        eps = np.finfo(REAL_OF[np.dtype(dtype)]).eps
        assert abs(lhs - rhs) <= 50 * eps * math.sqrt(y.size * w.size) * max(abs(rhs), 1)
    b = crandn(rng, (y.shape[1],), dtype)
    np.testing.assert_allclose(conv_t(x, w, b, **kwargs) - y,
                               np.broadcast_to(b.reshape((1, -1) + (1,) * nd), y.shape),
                               rtol=0, atol=1e-4 if dtype == np.complex64 else 1e-12)


# --------------------------------------------------------------------------
# correlate/convolve: SciPy's semantics (correlate conjugates in2)
# --------------------------------------------------------------------------
def _scipy():
    return pytest.importorskip("scipy.signal")


SIGNAL_SHAPES = [((13, 17), (3, 5)), ((97,), (7,)), ((5, 7), (8, 9)), ((7, 6, 5), (3, 2, 3)),
                 ((13, 17), (3, 3))]


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("shapes", SIGNAL_SHAPES, ids=str)
def test_correlate_convolve_match_scipy(rng, shapes, dtype):
    signal = _scipy()
    a, v = crandn(rng, shapes[0], dtype), crandn(rng, shapes[1], dtype)
    a0, v0 = a.copy(), v.copy()
    a128, v128 = a.astype(np.complex128), v.astype(np.complex128)
    algorithms = ["auto", "direct", "fft"] + (["winograd"] if shapes[1] == (3, 3) else [])
    for mode in ("full", "same", "valid"):
        for name in ("correlate", "convolve"):
            expected = getattr(signal, name)(a128, v128, mode, method="direct")
            for algorithm in algorithms:
                y = getattr(fastconv, name)(a, v, mode, algorithm=algorithm)
                rel = {np.complex64: 2e-5, np.complex128: 4e-12}[dtype]
                assert_complex_close(y, expected, dtype, v.size,
                                     rel=rel if algorithm == "fft" else None)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(v, v0)


def _extend(a, k, boundary, fill):
    mode = {"fill": "constant", "reflect": "symmetric", "symmetric": "symmetric",
            "mirror": "reflect", "nearest": "edge", "wrap": "wrap"}[boundary]
    extra = {"constant_values": fill} if boundary == "fill" else {}
    return np.pad(a, [(n - 1, n - 1) for n in k], mode=mode, **extra)


@pytest.mark.parametrize("boundary", ("fill", "reflect", "symmetric", "mirror", "nearest",
                                      "wrap"))
def test_every_boundary_and_complex_fillvalue(rng, boundary):
    signal = _scipy()
    a, v = crandn(rng, (13, 17)), crandn(rng, (5, 4))
    fill = 0.5 - 2j
    full = signal.correlate(_extend(a, v.shape, boundary, fill), v, "valid", method="direct")
    for algorithm in ("direct", "fft"):
        y = fastconv.correlate(a, v, boundary=boundary, fillvalue=fill, algorithm=algorithm)
        assert_complex_close(y, full, np.complex128, v.size,
                             rel=1e-12 if algorithm == "fft" else None)
        y = fastconv.correlate(a, v, "same", boundary=boundary, fillvalue=fill,
                               algorithm=algorithm)
        assert_complex_close(y, full[2:15, 1:18], np.complex128, v.size,
                             rel=1e-12 if algorithm == "fft" else None)
    if boundary in ("fill", "symmetric", "wrap"):        # scipy.signal.correlate2d's own
        y = fastconv.correlate(a, v, boundary=boundary, fillvalue=fill)
        assert_complex_close(y, signal.correlate2d(a, v, boundary=boundary[:4],
                                                   fillvalue=fill), np.complex128, v.size)


def test_correlate_real_input_complex_weights_and_fill(rng):
    signal = _scipy()
    a, v = rng.standard_normal((9, 11)), crandn(rng, (3, 4))
    y = fastconv.correlate(a, v, boundary="fill", fillvalue=1 + 2j)
    assert_complex_close(y, signal.correlate2d(a, v, boundary="fill", fillvalue=1 + 2j),
                         np.complex128, v.size)
    # Real in1 and in2: a complex fillvalue has no meaning (SciPy raises too).
    with pytest.raises(TypeError, match="fillvalue"):
        fastconv.correlate(a, v.real, fillvalue=1j)


def test_correlate_channels_and_out(rng):
    signal = _scipy()
    a, v = crandn(rng, (13, 17, 3), np.complex64), crandn(rng, (3, 3), np.complex64)
    out = np.empty((13, 17, 3), np.complex64)
    y = fastconv.correlate(a, v, "same", out=out)
    assert y is out
    for c in range(3):
        assert_complex_close(out[..., c], signal.correlate(a[..., c].astype(np.complex128), v,
                                                           "same"), np.complex64, 9)
    with pytest.raises(ValueError, match="out has dtype int32.*complex64"):
        fastconv.correlate(a, v, "same", out=np.empty((13, 17, 3), np.int32))
    with pytest.raises(ValueError, match="out has dtype float32.*complex64"):
        fastconv.correlate(a, v, "same", out=np.empty((13, 17, 3), np.float32))


# --------------------------------------------------------------------------
# gradients: PyTorch's conjugate (Wirtinger) convention
# --------------------------------------------------------------------------
GRAD_CASES = [
    (1, (2, 5, 19), (7, 5, 4), dict(stride=2, padding=1)),
    (2, (2, 6, 13, 17), (4, 3, 3, 3), dict(padding=1, dilation=(1, 2), groups=2)),
    (2, (1, 5, 9, 11), (5, 5, 3, 3), dict(padding=2, padding_mode="circular")),
    (3, (1, 3, 5, 6, 5), (2, 3, 3, 2, 3), dict(stride=(1, 2, 1), padding=1)),
]


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("case", range(len(GRAD_CASES)))
def test_gradients_are_the_adjoints(rng, case, dtype):
    """<gy, conv(dx, w)> == <grad_x, dx> and <gy, conv(x, dw)> == <grad_w, dw>
    for the complex inner product <a, b> = sum(conj(a) * b)."""
    nd, xs, ws, kwargs = GRAD_CASES[case]
    x, w = crandn(rng, xs, dtype), crandn(rng, ws, dtype)
    y = getattr(fastconv, f"conv{nd}d")(x, w, **kwargs)
    gy = crandn(rng, y.shape, dtype)
    gx = getattr(grad, f"conv{nd}d_input")(x.shape, w, gy, **kwargs)
    gw = getattr(grad, f"conv{nd}d_weight")(x, w.shape, gy, **kwargs)
    assert gx.dtype == gw.dtype == dtype
    dx, dw = crandn(rng, xs), crandn(rng, ws)
    eps = np.finfo(REAL_OF[np.dtype(dtype)]).eps
    for lhs, rhs in ((vdot(gy, np_conv(dx, w, **kwargs)), vdot(gx, dx)),
                     (vdot(gy, np_conv(x, dw, **kwargs)), vdot(gw, dw))):
        assert abs(lhs - rhs) <= 50 * eps * math.sqrt(gy.size * w.size) * max(abs(lhs), 1)
    np.testing.assert_allclose(grad.bias(gy), gy.sum(axis=(0,) + tuple(range(2, gy.ndim))),
                               rtol=1e-5 if dtype == np.complex64 else 1e-12)


# --------------------------------------------------------------------------
# PyTorch as the oracle (where installed)
# --------------------------------------------------------------------------
def _torch():
    return pytest.importorskip("torch")


def _t(a):
    return _torch().from_numpy(np.ascontiguousarray(a, np.complex128))


@pytest.mark.parametrize("case", range(len(GRAD_CASES)))
def test_conv_and_gradients_match_torch(rng, case):
    torch = _torch()
    nd, xs, ws, kwargs = GRAD_CASES[case]
    dtype = np.complex64
    x, w, b = crandn(rng, xs, dtype), crandn(rng, ws, dtype), crandn(rng, ws[:1], dtype)
    tkw = dict(kwargs)
    mode = tkw.pop("padding_mode", "zeros")
    xt, wt, bt = (_t(a).requires_grad_() for a in (x, w, b))
    if mode == "zeros":
        yt = getattr(torch.nn.functional, f"conv{nd}d")(xt, wt, bt, **tkw)
    else:
        pad = [p for _ in range(nd) for p in (tkw["padding"],) * 2]
        tkw["padding"] = 0
        yt = getattr(torch.nn.functional, f"conv{nd}d")(
            torch.nn.functional.pad(xt, pad, mode=mode), wt, bt, **tkw)
    y = getattr(fastconv, f"conv{nd}d")(x, w, b, **kwargs)
    n_terms = math.prod(ws[1:]) + 1
    assert_complex_close(y, yt.detach().numpy(), dtype, n_terms)
    gy = crandn(rng, y.shape, dtype)
    yt.backward(_t(gy))
    gx = getattr(grad, f"conv{nd}d_input")(x.shape, w, gy, **kwargs)
    gw = getattr(grad, f"conv{nd}d_weight")(x, w.shape, gy, **kwargs)
    assert_complex_close(gx, xt.grad.numpy(), dtype, 4 * n_terms)
    assert_complex_close(gw, wt.grad.numpy(), dtype, gy[:, 0].size * 2,
                         rel=4e-6 * math.sqrt(gy[:, 0].size))
    assert_complex_close(grad.bias(gy), bt.grad.numpy(), dtype, gy[:, 0].size)


@pytest.mark.parametrize("case", range(len(TRANSPOSED_CASES)))
def test_conv_transpose_and_gradients_match_torch(rng, case):
    torch = _torch()
    nd, xs, ws, kwargs = TRANSPOSED_CASES[case]
    x, w = crandn(rng, xs), crandn(rng, ws)
    b = crandn(rng, (ws[1] * kwargs.get("groups", 1),))
    xt, wt, bt = (_t(a).requires_grad_() for a in (x, w, b))
    yt = getattr(torch.nn.functional, f"conv_transpose{nd}d")(xt, wt, bt, **kwargs)
    y = getattr(fastconv, f"conv_transpose{nd}d")(x, w, b, **kwargs)
    assert_complex_close(y, yt.detach().numpy(), np.complex128, w.size)
    gy = crandn(rng, y.shape)
    yt.backward(_t(gy))
    gx = getattr(grad, f"conv_transpose{nd}d_input")(x.shape, w, gy, **kwargs)
    gw = getattr(grad, f"conv_transpose{nd}d_weight")(x, w.shape, gy, **kwargs)
    assert_complex_close(gx, xt.grad.numpy(), np.complex128, w.size)
    assert_complex_close(gw, wt.grad.numpy(), np.complex128, gy.size)
    assert_complex_close(grad.bias(gy), bt.grad.numpy(), np.complex128, gy[:, 0].size)


def test_depthwise_gradients_match_torch(rng):
    torch = _torch()
    x, w, b = crandn(rng, (2, 5, 13, 17)), crandn(rng, (5, 1, 3, 3)), crandn(rng, (5,))
    xt, wt, bt = (_t(a).requires_grad_() for a in (x, w, b))
    yt = torch.nn.functional.conv2d(xt, wt, bt, padding=1, groups=5)
    gy = crandn(rng, yt.shape)
    yt.backward(_t(gy))
    g = grad.depthwise_conv2d(x, w, gy, padding=1)
    assert_complex_close(g.input, xt.grad.numpy(), np.complex128, 9)
    assert_complex_close(g.weight, wt.grad.numpy(), np.complex128, gy[:, 0].size)
    assert_complex_close(g.bias, bt.grad.numpy(), np.complex128, gy[:, 0].size)


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------
def test_errors_name_the_argument_and_dtype(rng):
    x, w = crandn(rng, (1, 3, 8, 8)), crandn(rng, (4, 3, 3, 3))
    with pytest.raises(ValueError, match="out has dtype float64.*complex128"):
        fastconv.conv2d(x, w, out=np.empty((1, 4, 6, 6)))
    with pytest.raises(ValueError, match="out has dtype int64.*complex128"):
        fastconv.conv_transpose2d(x, w.swapaxes(0, 1), out=np.empty((1, 4, 10, 10), np.int64))
    with pytest.raises(ValueError, match="out overlaps the input input"):
        fastconv.conv2d(x, np.ones((3, 3, 1, 1), complex), out=x)
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        fastconv.conv2d(x, w, np.ones(3, complex))
    with pytest.raises(ValueError, match="groups"):
        fastconv.conv2d(x, w, groups=2)
    if hasattr(np, "clongdouble") and np.dtype(np.clongdouble).itemsize > 16:
        with pytest.raises(TypeError, match="weight has dtype complex"):
            fastconv.conv2d(x, w.astype(np.clongdouble))
    with pytest.raises(TypeError, match="plan_conv2d: weight has dtype complex128"):
        fastconv.plan_conv2d(w, x.shape)
    plan = fastconv.plan_conv2d(w.real, x.shape)
    with pytest.raises(TypeError, match="input has dtype complex128.*conv2d"):
        plan(x)
    with pytest.raises(TypeError, match="kernel has dtype complex128"):
        fastconv.separate(w[0, 0])
    with pytest.raises(TypeError, match="fillvalue must be a number"):
        fastconv.correlate(x[0, 0], w[0, 0], fillvalue="1j")


def test_results_do_not_depend_on_the_thread_count(rng):
    x, w = crandn(rng, (2, 5, 13, 17), np.complex64), crandn(rng, (7, 5, 3, 3), np.complex64)
    a, v = crandn(rng, (101, 97)), crandn(rng, (5, 7))
    before = fastconv.get_num_threads()
    results = []
    try:
        for n in (1, 2):
            fastconv.set_num_threads(n)
            results.append([fastconv.conv2d(x, w, padding=1, algorithm=alg)
                            for alg in ("direct", "im2col", "winograd")]
                           + [fastconv.correlate(a, v, algorithm=alg) for alg in ("direct", "fft")]
                           + [grad.conv2d_weight(x, w.shape, np.ones((2, 7, 13, 17),
                                                                     np.complex64), padding=1)])
    finally:
        fastconv.set_num_threads(before)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)
