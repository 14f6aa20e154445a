"""Tests of fastconv.grad: the backward passes of the convolutions."""
import itertools

import numpy as np
import pytest

import fastconv
from fastconv import grad, reference
from fastconv.reference import grad as rgrad
from conftest import FLOAT_DTYPES, assert_conv_close

ALGOS = ("auto", "direct", "im2col")
MODES = ("zeros", "reflect", "replicate", "circular")
CONV = {1: fastconv.conv1d, 2: fastconv.conv2d, 3: fastconv.conv3d}


def _fn(kind, nd):
    return getattr(grad, kind.format(nd=nd))


CONV_GRID = [
    (1, s, p, d, d, k, mode)
    for s, p, d, k, mode in itertools.product((1, 3), (0, "same", "pairs"), (1, 2), (1, 3),
                                              MODES)
] + [
    (2, s, p, d, d, 3, mode)
    for s, p, d, mode in itertools.product((1, 2), (1, "same"), (1, 2), ("zeros", "reflect"))
] + [(3, 2, 1, 1, 1, 3, "zeros"), (3, 1, "same", 2, 2, 2, "circular")]


@pytest.mark.parametrize("nd,s,p,d,g,k,mode", CONV_GRID)
def test_conv_grads_match_reference(rng, nd, s, p, d, g, k, mode):
    spatial = {1: (9,), 2: (7, 6), 3: (5, 4, 6)}[nd]
    padding = ((2, 0),) * nd if p == "pairs" else p
    x = rng.standard_normal((2, 4) + spatial)
    w = rng.standard_normal((2 * g, 4 // g) + (k,) * nd)
    y = reference.conv_nd(x, w, None, s, padding, d, g, mode)
    gy = rng.standard_normal(y.shape)
    ref_in = rgrad.conv_nd_input(x.shape, w, gy, s, padding, d, g, mode)
    ref_w = rgrad.conv_nd_weight(x, w.shape, gy, s, padding, d, g, mode)
    for algorithm in ALGOS:
        for dtype in FLOAT_DTYPES:
            gi = _fn("conv{nd}d_input", nd)(x.shape, w.astype(dtype), gy.astype(dtype), s,
                                            padding, d, g, mode, algorithm=algorithm)
            # generous term counts: every product that may reach one element
            assert_conv_close(gi, ref_in, dtype, 4 * w[0].size * 4, err_msg=algorithm)
            if algorithm in grad.WEIGHT_ALGORITHMS:
                gw = _fn("conv{nd}d_weight", nd)(x.astype(dtype), w.shape, gy.astype(dtype),
                                                 s, padding, d, g, mode, algorithm=algorithm)
                assert_conv_close(gw, ref_w, dtype, 2 * gy[0, 0].size, err_msg=algorithm)


TRANSPOSED_GRID = [
    (nd, s, p, op, d, d, k)
    for nd in (1, 2)
    for s, p, op, d, k in itertools.product((1, 2, 3), (0, ((2, 0),)), (0, 1), (1, 2), (1, 3))
    if (op < s or op < d) and (nd == 1 or k == 3)
]


@pytest.mark.parametrize("nd,s,p,op,g,d,k", TRANSPOSED_GRID)
def test_transposed_grads_match_reference(rng, nd, s, p, op, g, d, k):
    spatial = {1: (6,), 2: (5, 4)}[nd]
    padding = p * nd if isinstance(p, tuple) else p
    x = rng.standard_normal((2, 4) + spatial)
    w = rng.standard_normal((4, 3) + (k,) * nd)
    y = reference.conv_transpose_nd(x, w, None, s, padding, op, g, d)
    gy = rng.standard_normal(y.shape)
    ref_in = rgrad.conv_transpose_nd_input(x.shape, w, gy, s, padding, op, g, d)
    ref_w = rgrad.conv_transpose_nd_weight(x, w.shape, gy, s, padding, op, g, d)
    for algorithm in ALGOS:
        for dtype in FLOAT_DTYPES:
            gi = _fn("conv_transpose{nd}d_input", nd)(x.shape, w.astype(dtype),
                                                      gy.astype(dtype), s, padding, op, g, d,
                                                      algorithm=algorithm)
            assert_conv_close(gi, ref_in, dtype, 3 * w[0].size, err_msg=algorithm)
            if algorithm in grad.WEIGHT_ALGORITHMS:
                gw = _fn("conv_transpose{nd}d_weight", nd)(x.astype(dtype), w.shape,
                                                           gy.astype(dtype), s, padding, op, g,
                                                           d, algorithm=algorithm)
                assert_conv_close(gw, ref_w, dtype, 2 * gy[0, 0].size, err_msg=algorithm)


def test_finite_differences(rng):
    """Every gradient against central differences of the reference forward pass."""
    x = rng.standard_normal((2, 2, 5, 4))
    w = rng.standard_normal((3, 2, 2, 3))
    b = rng.standard_normal(3)
    kw = dict(stride=(2, 1), padding=((1, 0), (1, 1)), dilation=(1, 2))
    for mode in MODES:
        y = reference.conv2d(x, w, b, padding_mode=mode, **kw)
        gy = rng.standard_normal(y.shape)

        def loss(xx=x, ww=w, bb=b):
            return float(np.vdot(reference.conv2d(xx, ww, bb, padding_mode=mode, **kw), gy))

        gx = grad.conv2d_input(x.shape, w, gy, padding_mode=mode, **kw)
        gw = grad.conv2d_weight(x, w.shape, gy, padding_mode=mode, **kw)
        gb = grad.bias(gy)
        eps = 1e-6
        for arr, g_arr, name in ((x, gx, "xx"), (w, gw, "ww"), (b, gb, "bb")):
            num = np.empty_like(arr)
            for idx in np.ndindex(arr.shape):
                plus, minus = arr.copy(), arr.copy()
                plus[idx] += eps
                minus[idx] -= eps
                num[idx] = (loss(**{name: plus}) - loss(**{name: minus})) / (2 * eps)
            np.testing.assert_allclose(g_arr, num, rtol=1e-6, atol=1e-6, err_msg=mode + name)


@pytest.mark.parametrize("x_shape, w_shape, kw", [
    # Every position the input reaches along dim 0 is cropped by the padding.
    ((1, 1, 1), (1, 1, 1, 1), dict(padding=((2, 0), (0, 0)), output_padding=(2, 0),
                                   dilation=(3, 1))),
    ((2, 3, 2, 5), (3, 2, 2, 3), dict(stride=(1, 2), padding=((10, 0), (1, 1)),
                                      output_padding=(3, 1), dilation=(7, 1))),
])
def test_transposed_input_grad_when_the_padding_crops_every_read(rng, x_shape, w_shape, kw):
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    gy = rng.standard_normal(reference.conv_transpose2d(x, w, **kw).shape)
    gx = grad.conv_transpose2d_input(x.shape, w, gy, **kw)
    np.testing.assert_allclose(gx, reference.grad.conv_transpose2d_input(x.shape, w, gy, **kw),
                               rtol=0, atol=1e-12)


def test_transposed_finite_differences(rng):
    x = rng.standard_normal((1, 2, 3, 4))
    w = rng.standard_normal((2, 2, 3, 2))
    kw = dict(stride=2, padding=1, output_padding=1, dilation=(1, 2))
    y = reference.conv_transpose2d(x, w, **kw)
    gy = rng.standard_normal(y.shape)
    gx = grad.conv_transpose2d_input(x.shape, w, gy, **kw)
    gw = grad.conv_transpose2d_weight(x, w.shape, gy, **kw)
    eps = 1e-6
    for arr, g_arr, which in ((x, gx, 0), (w, gw, 1)):
        num = np.empty_like(arr)
        for idx in np.ndindex(arr.shape):
            vals = []
            for sign in (1, -1):
                a = arr.copy()
                a[idx] += sign * eps
                args = (a, w) if which == 0 else (x, a)
                vals.append(np.vdot(reference.conv_transpose2d(*args, **kw), gy))
            num[idx] = (vals[0] - vals[1]) / (2 * eps)
        np.testing.assert_allclose(g_arr, num, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_adjoint_identity_random(seed):
    r = np.random.default_rng(seed)
    nd = int(r.integers(1, 4))
    g = int(r.integers(1, 3))
    k = tuple(int(v) for v in r.integers(1, 4, nd))
    s = tuple(int(v) for v in r.integers(1, 4, nd))
    d = tuple(int(v) for v in r.integers(1, 3, nd))
    pads = tuple((int(a), int(b)) for a, b in r.integers(0, 3, (nd, 2)))
    spatial = tuple(int(v) for v in r.integers(6, 10, nd))
    x = r.standard_normal((2, 2 * g) + spatial)
    w = r.standard_normal((3 * g, 2) + k)
    y = CONV[nd](x, w, stride=s, padding=pads, dilation=d, groups=g)
    gy = r.standard_normal(y.shape)
    gx = _fn("conv{nd}d_input", nd)(x.shape, w, gy, s, pads, d, g)
    np.testing.assert_allclose(np.vdot(y, gy), np.vdot(x, gx), rtol=1e-10)
    # and the weight: <conv(x, w), g> == <w, grad_weight(g)>
    gw = _fn("conv{nd}d_weight", nd)(x, w.shape, gy, s, pads, d, g)
    np.testing.assert_allclose(np.vdot(y, gy), np.vdot(w, gw), rtol=1e-10)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_odd_sizes_unbatched_and_unused_rows(rng, dtype):
    # stride 4 with kernel 3 leaves input rows that no output reads
    x = rng.standard_normal((5, 101)).astype(dtype)
    w = rng.standard_normal((7, 5, 3)).astype(dtype)
    y = fastconv.conv1d(x, w, stride=4)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gi = grad.conv1d_input(x.shape, w, gy, stride=4)
    gw = grad.conv1d_weight(x, w.shape, gy, stride=4)
    assert gi.dtype == dtype and gw.dtype == dtype and gi.shape == x.shape
    assert_conv_close(gi, rgrad.conv1d_input(x.shape, w, gy, stride=4), dtype, 21)
    assert_conv_close(gw, rgrad.conv1d_weight(x, w.shape, gy, stride=4), dtype, 25)
    assert not gi[:, 100].any()       # the last row is never read


@pytest.mark.parametrize("shape,wshape,kw", [
    ((2, 19, 13, 11), (24, 19, 3, 3), dict(padding=1)),
    ((1, 32, 9, 9), (16, 32, 1, 1), {}),
    ((2, 12, 9, 10), (12, 3, 3, 3), dict(groups=4, stride=2)),
])
def test_threads_bitwise_equal(rng, threads, shape, wshape, kw):
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(wshape).astype(np.float32)
    gy = rng.standard_normal(fastconv.conv_output_shape(shape, wshape, **{
        k: v for k, v in kw.items() if k != "groups"})).astype(np.float32)
    results = []
    for threads in (1, 2):
        fastconv.set_num_threads(threads)
        results.append((grad.conv2d_input(shape, w, gy, **kw),
                        grad.conv2d_weight(x, wshape, gy, **kw), grad.bias(gy),
                        grad.conv_transpose2d_weight(gy, wshape, x, **kw)
                        if "stride" not in kw else None))
    for a, b in zip(*results):
        if a is not None:
            np.testing.assert_array_equal(a, b)


def test_torch_oracle(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((6, 2, 3, 2))
    kw = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    y = torch.nn.functional.conv2d(xt, wt, **kw)
    gy = rng.standard_normal(tuple(y.shape))
    y.backward(torch.tensor(gy))
    np.testing.assert_allclose(grad.conv2d_input(x.shape, w, gy, **kw), xt.grad.numpy(),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(grad.conv2d_weight(x, w.shape, gy, **kw), wt.grad.numpy(),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        torch.nn.grad.conv2d_input(x.shape, torch.tensor(w), torch.tensor(gy), **kw).numpy(),
        grad.conv2d_input(x.shape, w, gy, **kw), rtol=1e-10, atol=1e-10)


def test_bias():
    gy = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(grad.bias(gy), np.array([60, 92, 124], np.float32))
    assert grad.bias(np.ones((2, 3), int)).dtype == np.float64
    np.testing.assert_allclose(grad.bias(gy), rgrad.bias(gy))


def test_public_names():
    assert set(grad.__all__) >= {"bias", "conv2d_input", "conv3d_weight",
                                 "conv_transpose1d_input", "conv_transpose3d_weight"}
    assert grad.conv2d_input.__module__ == "fastconv.grad"


ERRORS = [
    ("conv2d_input", dict(grad_output=np.ones((1, 3, 4, 4))), "grad_output"),
    ("conv2d_input", dict(stride=0), "stride"),
    ("conv2d_input", dict(padding_mode="mirror"), "padding_mode"),
    ("conv2d_input", dict(padding_mode="reflect", padding=5), "padding_mode"),
    ("conv2d_input", dict(groups=2), "groups"),
    ("conv2d_input", dict(algorithm="fft"), "algorithm"),
    ("conv2d_input", dict(padding="full"), "padding"),
    ("conv2d_weight", dict(grad_output=np.ones((1, 2, 3, 3))), "grad_output"),
    ("conv2d_weight", dict(dilation=(1, 2, 3)), "dilation"),
    ("conv_transpose2d_input", dict(output_padding=3), "output_padding"),
    ("conv_transpose2d_input", dict(grad_output=np.ones((1, 3, 4, 4))), "grad_output"),
    ("conv_transpose2d_weight", dict(groups=3), "groups"),
    ("conv_transpose2d_weight", dict(padding="same"), "padding"),
]


@pytest.mark.parametrize("name,kwargs,match", ERRORS)
def test_errors(name, kwargs, match):
    x = np.ones((1, 4, 5, 5))
    if name.startswith("conv2d"):
        w = np.ones((3, 4, 3, 3))
        gy = np.ones((1, 3, 3, 3))
    else:
        w = np.ones((4, 3, 3, 3))
        gy = np.ones((1, 3, 7, 7))
    gy = kwargs.pop("grad_output", gy)
    fn = getattr(grad, name)
    with pytest.raises(ValueError, match=match):
        if name.endswith("input"):
            fn(x.shape, w, gy, **kwargs)
        else:
            fn(x, w.shape, gy, **kwargs)


def test_type_errors():
    with pytest.raises(TypeError, match="input_shape"):
        grad.conv2d_input(np.ones((1, 4, 5, 5)), np.ones((3, 4, 3, 3)), np.ones((1, 3, 3, 3)))
    with pytest.raises(TypeError, match="weight_shape"):
        grad.conv2d_weight(np.ones((1, 4, 5, 5)), np.ones((3, 4, 3, 3)), np.ones((1, 3, 3, 3)))
    with pytest.raises(TypeError, match="object"):
        grad.conv2d_weight(np.ones((1, 4, 5, 5), object), (3, 4, 3, 3), np.ones((1, 3, 3, 3)))
    with pytest.raises(ValueError, match="grad_output"):
        grad.bias(np.ones(3))


def test_winograd_input_gradient(rng):
    x = rng.standard_normal((2, 6, 13, 10)).astype(np.float32)
    w = rng.standard_normal((8, 6, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((2, 8, 13, 10)).astype(np.float32)
    gi = grad.conv2d_input(x.shape, w, gy, padding=1, algorithm="winograd")
    assert_conv_close(gi, rgrad.conv2d_input(x.shape, w, gy, padding=1), np.float32, 8 * 9 * 4)
    with pytest.raises(ValueError, match="weight gradient is computed by the im2col"):
        grad.conv2d_weight(x, w.shape, gy, padding=1, algorithm="winograd")
    with pytest.raises(ValueError, match="winograd"):
        grad.conv2d_input(x.shape, w, gy[..., ::2, ::2][..., :7, :5], stride=2, padding=1,
                          algorithm="winograd")


def _directional_check(rng, forward, args, grads, gy, names):
    """<grad, v> against a central difference of <forward(args), gy> along random v
    (``forward``: the reference definition)."""
    eps = 1e-6
    for name, g in zip(names, grads):
        v = rng.standard_normal(np.shape(args[name]))
        plus = dict(args, **{name: args[name] + eps * v})
        minus = dict(args, **{name: args[name] - eps * v})
        num = (np.vdot(forward(**plus), gy) - np.vdot(forward(**minus), gy)) / (2 * eps)
        np.testing.assert_allclose(np.vdot(g, v), num, rtol=1e-6, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batched", [True, False])
def test_depthwise_and_separable_grads(rng, mode, batched):
    x = rng.standard_normal((2, 3, 9, 8) if batched else (3, 9, 8))
    dw = rng.standard_normal((6, 1, 3, 3))
    pw = rng.standard_normal((4, 6, 1, 1))
    b4, b6 = rng.standard_normal(4), rng.standard_normal(6)
    kw = dict(stride=(2, 1), padding=1, dilation=(1, 2))

    def depthwise(x, w, b):
        return reference.depthwise_conv2d(x, w, b, padding_mode=mode, **kw)

    gy = rng.standard_normal(depthwise(x, dw, b6).shape)
    g = grad.depthwise_conv2d(x, dw, gy, padding_mode=mode, **kw)
    _directional_check(rng, depthwise, dict(x=x, w=dw, b=b6), g, gy, ("x", "w", "b"))

    def separable(x, dw, pw, b):
        return reference.separable_conv2d(x, dw, pw, b, padding_mode=mode, **kw)

    gy = rng.standard_normal(separable(x, dw, pw, b4).shape)
    g = grad.separable_conv2d(x, dw, pw, gy, padding_mode=mode, **kw)
    _directional_check(rng, separable, dict(x=x, dw=dw, pw=pw, b=b4), g, gy,
                       ("x", "dw", "pw", "b"))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", [1, "same", ((2, 0), (0, 1))])
def test_spatially_separable_grads(rng, mode, padding):
    x = rng.standard_normal((2, 4, 9, 8))
    cw = rng.standard_normal((6, 2, 3, 1))
    rw = rng.standard_normal((4, 3, 1, 2))
    b = rng.standard_normal(4)
    kw = dict(stride=(2, 1), padding=padding, dilation=(1, 2), groups=2)

    def forward(x, cw, rw, b):
        return reference.spatially_separable_conv2d(x, cw, rw, b, padding_mode=mode, **kw)

    gy = rng.standard_normal(forward(x, cw, rw, b).shape)
    g = grad.spatially_separable_conv2d(x, cw, rw, gy, padding_mode=mode, **kw)
    _directional_check(rng, forward, dict(x=x, cw=cw, rw=rw, b=b), g, gy,
                       ("x", "cw", "rw", "b"))


def test_variant_grad_errors():
    x = np.ones((1, 3, 6, 6))
    gy = np.ones((1, 6, 4, 4))
    with pytest.raises(ValueError, match="depthwise"):
        grad.depthwise_conv2d(x, np.ones((6, 2, 3, 3)), gy)
    with pytest.raises(ValueError, match="pointwise_weight"):
        grad.separable_conv2d(x, np.ones((6, 1, 3, 3)), np.ones((4, 5, 1, 1)), gy)
    with pytest.raises(ValueError, match="column_weight"):
        grad.spatially_separable_conv2d(x, np.ones((6, 3, 3, 3)), np.ones((4, 6, 1, 3)), gy)


# --------------------------------------------------------------------------
# Octave convolution: every gradient, inputs, weights and both biases, against
# central differences of the REFERENCE forward function along a random
# direction, one parameter at a time (exact up to rounding: the output is
# bilinear in inputs and weights), for first, middle and last layers, stride
# 1 and 2.
# --------------------------------------------------------------------------
OCTAVE_CASES = [
    dict(low_in=True, low_out=True, stride=1, padding=1, batched=True),
    dict(low_in=True, low_out=True, stride=2, padding="same", batched=True),
    dict(low_in=False, low_out=True, stride=1, padding=1, batched=False),
    dict(low_in=True, low_out=False, stride=1, padding=1, batched=True),
    dict(low_in=True, low_out=True, stride=1, padding=1, batched=False),
]


@pytest.mark.parametrize("case", OCTAVE_CASES, ids=lambda c: "-".join(f"{k}{v}" for k, v in
                                                                   c.items()))
def test_octave_gradients_by_central_differences(case, rng):
    lead = (2,) if case["batched"] else ()
    xh = rng.standard_normal(lead + (3, 8, 8))
    xl = rng.standard_normal(lead + (2, 4, 4)) if case["low_in"] else None
    shapes = {"w_hh": (4, 3, 3, 3),
              "w_hl": (5, 3, 3, 3) if case["low_out"] else None,
              "w_lh": (4, 2, 3, 3) if case["low_in"] else None,
              "w_ll": (5, 2, 3, 3) if case["low_in"] and case["low_out"] else None}
    ws = {k: None if s is None else rng.standard_normal(s) for k, s in shapes.items()}
    params = dict(x_high=xh, x_low=xl, **ws, bias_high=rng.standard_normal(4),
                  bias_low=rng.standard_normal(5) if case["low_out"] else None)
    kw = dict(stride=case["stride"], padding=case["padding"])
    yh, yl = reference.octave_conv2d(**params, **kw)
    gh = rng.standard_normal(yh.shape)
    gl = None if yl is None else rng.standard_normal(yl.shape)
    grads = fastconv.grad.octave_conv2d(xh, xl, *ws.values(), gh, gl, **kw)

    def objective(p):
        a, b = reference.octave_conv2d(**p, **kw)
        return float(np.sum(a * gh) + (0.0 if b is None else np.sum(b * gl)))

    eps = 1e-3
    for name, value in params.items():
        got = getattr(grads, name)
        assert (got is None) == (value is None), name
        if value is None:
            continue
        assert got.shape == value.shape, name
        direction = rng.standard_normal(value.shape)
        numeric = (objective(dict(params, **{name: value + eps * direction}))
                   - objective(dict(params, **{name: value - eps * direction}))) / (2 * eps)
        analytic = float(np.sum(got * direction))
        assert abs(numeric - analytic) <= 1e-8 * max(1.0, abs(numeric)), name


def test_octave_gradient_errors(rng):
    xh, xl = rng.standard_normal((1, 3, 8, 8)), rng.standard_normal((1, 2, 4, 4))
    ws = [rng.standard_normal(s) for s in [(4, 3, 3, 3), (5, 3, 3, 3), (4, 2, 3, 3),
                                           (5, 2, 3, 3)]]
    yh, yl = fastconv.octave_conv2d(xh, xl, *ws, padding=1)
    with pytest.raises(ValueError, match="grad_low is None"):
        fastconv.grad.octave_conv2d(xh, xl, *ws, yh, None, padding=1)
    with pytest.raises(ValueError, match="grad_high must have the shape"):
        fastconv.grad.octave_conv2d(xh, xl, *ws, yh[..., :-1], yl, padding=1)
    with pytest.raises(ValueError, match="x_low must be half the size"):
        fastconv.grad.octave_conv2d(xh, xl[..., :3], *ws, yh, yl, padding=1)
