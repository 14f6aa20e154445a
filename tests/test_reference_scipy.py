"""fastconv.reference against SciPy: the oracle checked by an independent library.

Every fastconv result is compared with :mod:`fastconv.reference`; here the
reference itself is compared with SciPy (``scipy.signal``, ``scipy.ndimage``)
and ``numpy.pad``, which share no code with it. SciPy is in the test extra,
so the README's test command runs these checks (PyTorch, an optional second
oracle, is used in tests/test_reference.py). The problems are small: the
oracles below loop over channel pairs in Python.

* conv1d/2d/3d: ``scipy.signal.correlate`` of each (output, input) channel
  pair of a group, of the input padded by ``numpy.pad``, with the kernel
  dilated by inserting zeros; the stride by slicing.
* transposed convolution: ``scipy.signal.convolve`` of the zero-stuffed input
  with the dilated kernel (the scatter written as a convolution), cropped by
  the padding, and the adjoint identity with the convolution above.
* gradients: the operator's matrix built column by column from the SciPy
  convolution of unit arrays (a convolution is linear in its input and in
  its weight), transposed and applied to the output gradient: the exact
  gradient, compared elementwise; on random problems, the adjoint identities
  ``<conv(x, w), g> == <x, grad_input(g)> == <w, grad_weight(x, g)>``.
* correlate/convolve: ``scipy.signal.correlate``/``convolve`` of ``in1``
  extended by ``numpy.pad`` in each boundary's mode; ``scipy.ndimage`` for
  ``'same'``.
* depthwise, separable, spatially separable and octave convolutions: their
  definitions composed from the SciPy convolution and NumPy pooling.
"""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_reference import TORCH_CASES, tiny_problems

from fastconv import reference as ref
from fastconv.reference import grad as rgrad

ss = pytest.importorskip("scipy.signal")
ndi = pytest.importorskip("scipy.ndimage")

NP_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
# Tolerance of two float64 computations of the same small sums in different orders.
CLOSE = dict(rtol=1e-11, atol=1e-11)


# --------------------------------------------------------------------------
# The SciPy oracles
# --------------------------------------------------------------------------
def _ints(value, nd):
    return (int(value),) * nd if np.ndim(value) == 0 else tuple(int(v) for v in value)


def explicit_pads(padding, spatial, kernel, stride, dilation):
    """(before, after) per dim; ``"same"`` by TensorFlow's documented rule:
    ``ceil(in / stride)`` outputs, total padding
    ``max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0)``, the odd cell after."""
    nd = len(spatial)
    if padding == "valid":
        return [(0, 0)] * nd
    if padding == "same":
        pads = []
        for n, k, s, d in zip(spatial, kernel, stride, dilation):
            total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        return pads
    if np.ndim(padding) == 0:
        return [(int(padding),) * 2] * nd
    return [(int(p),) * 2 if np.ndim(p) == 0 else (int(p[0]), int(p[1])) for p in padding]


def dilated(kernel, dilation):
    """The kernel with ``dilation - 1`` zeros between its taps along every axis."""
    out = np.zeros([(k - 1) * d + 1 for k, d in zip(kernel.shape, dilation)])
    out[tuple(slice(None, None, d) for d in dilation)] = kernel
    return out


def scipy_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """``conv_nd`` from ``scipy.signal.correlate`` per (output, input) channel pair."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    nd = w.ndim - 2
    batched = x.ndim == nd + 2
    xb = x if batched else x[None]
    stride, dilation = _ints(stride, nd), _ints(dilation, nd)
    pads = explicit_pads(padding, xb.shape[2:], w.shape[2:], stride, dilation)
    xp = np.pad(xb, [(0, 0), (0, 0)] + pads, mode=NP_MODE[padding_mode])
    cig, cog = xb.shape[1] // groups, w.shape[0] // groups
    every = tuple(slice(None, None, s) for s in stride)
    y = []
    for n in range(xb.shape[0]):
        channels = []
        for o in range(w.shape[0]):
            g = o // cog
            acc = sum(ss.correlate(xp[n, g * cig + c], dilated(w[o, c], dilation), "valid",
                                   method="direct") for c in range(cig))
            channels.append(acc[every] + (0.0 if b is None else b[o]))
        y.append(channels)
    y = np.array(y, dtype=np.float64)
    return y if batched else y[0]


def scipy_conv_transpose(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                         dilation=1):
    """The transposed convolution as ``scipy.signal.convolve`` of the zero-stuffed
    input (input cell ``i`` at ``i * stride``) with the dilated kernel: cell
    ``i`` times tap ``t`` lands at ``i * stride + t * dilation``, the scatter."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    nd = w.ndim - 2
    batched = x.ndim == nd + 2
    xb = x if batched else x[None]
    stride, dilation = _ints(stride, nd), _ints(dilation, nd)
    op = _ints(output_padding, nd)
    pads = explicit_pads(padding, xb.shape[2:], w.shape[2:], stride, dilation)
    cig, cog = xb.shape[1] // groups, w.shape[1]
    stuffed = np.zeros(xb.shape[:2] + tuple((n - 1) * s + 1 for n, s in
                                            zip(xb.shape[2:], stride)))
    stuffed[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)] = xb
    full = [(n - 1) * s + (k - 1) * d + 1 + o
            for n, s, k, d, o in zip(xb.shape[2:], stride, w.shape[2:], dilation, op)]
    y = np.zeros((xb.shape[0], cog * groups) + tuple(full))
    core = tuple(slice(0, f - o) for f, o in zip(full, op))
    for n in range(xb.shape[0]):
        for g in range(groups):
            for o in range(cog):
                y[(n, g * cog + o) + core] = sum(
                    ss.convolve(stuffed[n, g * cig + c], dilated(w[g * cig + c, o], dilation),
                                "full", method="direct") for c in range(cig))
    y = y[(slice(None), slice(None)) + tuple(slice(bf, f - af) for (bf, af), f in zip(pads, full))]
    if b is not None:
        y = y + np.asarray(b, np.float64).reshape((1, -1) + (1,) * nd)
    return y if batched else y[0]


def operator_matrix(apply, shape):
    """The matrix of the linear map ``apply`` on arrays of ``shape``: column ``i``
    is ``apply`` of the ``i``-th unit array, raveled."""
    columns = []
    for i in range(int(np.prod(shape))):
        unit = np.zeros(int(np.prod(shape)))
        unit[i] = 1.0
        columns.append(np.ravel(apply(unit.reshape(shape))))
    return np.array(columns).T


def _conv_kwargs(case):
    return {k: case[k] for k in ("stride", "padding", "dilation", "groups", "padding_mode")
            if k in case}


# --------------------------------------------------------------------------
# conv1d / conv2d / conv3d
# --------------------------------------------------------------------------
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("case", TORCH_CASES, ids=lambda c: f"{c[0]}d-{c[5]}-{c[7]}")
def test_conv_matches_scipy(case, batched):
    nd, n, c_in, c_out, groups, spatial, kernel, kwargs = case
    rng = np.random.default_rng(sum(spatial) + c_out)
    x = rng.standard_normal(((n,) if batched else ()) + (c_in,) + spatial)
    w = rng.standard_normal((c_out, c_in // groups) + kernel)
    b = rng.standard_normal(c_out)
    fn = (ref.conv1d, ref.conv2d, ref.conv3d)[nd - 1]
    y = fn(x, w, b, groups=groups, **kwargs)
    expected = scipy_conv(x, w, b, groups=groups, **kwargs)
    assert y.shape == expected.shape and y.dtype == np.float64
    np.testing.assert_allclose(y, expected, **CLOSE)


@settings(max_examples=40, deadline=None)
@given(problem=tiny_problems(), seed=st.integers(0, 2**32 - 1))
def test_conv_and_its_gradients_match_scipy_hypothesis(problem, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((problem["n"], problem["c_in"]) + problem["spatial"])
    w = rng.standard_normal((problem["c_out"], problem["c_in"] // problem["groups"])
                            + problem["kernel"])
    b = rng.standard_normal(problem["c_out"]) if problem["bias"] else None
    kw = _conv_kwargs(problem)
    y = ref.conv_nd(x, w, b, **kw)
    np.testing.assert_allclose(y, scipy_conv(x, w, b, **kw), **CLOSE)
    # The adjoint identities of the gradients, with SciPy's forward pass.
    gy = rng.standard_normal(y.shape)
    forward = np.vdot(scipy_conv(x, w, None, **kw), gy)
    np.testing.assert_allclose(np.vdot(x, rgrad.conv_nd_input(x.shape, w, gy, **kw)), forward,
                               **CLOSE)
    np.testing.assert_allclose(np.vdot(w, rgrad.conv_nd_weight(x, w.shape, gy, **kw)), forward,
                               **CLOSE)
    np.testing.assert_allclose(rgrad.bias(gy), gy.sum(axis=(0,) + tuple(range(2, gy.ndim))),
                               **CLOSE)


# Small problems whose gradients are checked elementwise against the
# transposed operator matrix: every padding mode, strides that leave input
# cells unread, dilation, groups, asymmetric and "same" padding, unbatched.
GRAD_CASES = [
    dict(x=(2, 4, 7), w=(4, 2, 3), stride=2, padding=((2, 1),), groups=2,
         padding_mode="reflect"),
    dict(x=(1, 2, 9), w=(3, 2, 2), stride=3, padding="same", dilation=2,
         padding_mode="circular"),
    dict(x=(3, 8), w=(2, 3, 3), padding=2, padding_mode="replicate"),
    dict(x=(1, 2, 5, 6), w=(2, 1, 2, 3), stride=(2, 1), padding=((1, 0), (2, 2)),
         dilation=(1, 2), groups=2, padding_mode="zeros"),
    dict(x=(1, 1, 4, 5), w=(2, 1, 3, 3), padding=1, padding_mode="reflect"),
    dict(x=(1, 2, 3, 4, 4), w=(2, 2, 2, 1, 3), stride=(1, 2, 1), padding=(1, 0, 2),
         padding_mode="circular"),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: f"{len(c['w']) - 2}d-{c['x']}")
def test_conv_gradients_are_the_transposed_scipy_operator(case):
    rng = np.random.default_rng(len(str(case)))
    kw = {k: v for k, v in case.items() if k not in ("x", "w")}
    x = rng.standard_normal(case["x"])
    w = rng.standard_normal(case["w"])
    gy = rng.standard_normal(scipy_conv(x, w, **kw).shape)
    by_input = operator_matrix(lambda v: scipy_conv(v, w, **kw), x.shape)
    np.testing.assert_allclose(rgrad.conv_nd_input(x.shape, w, gy, **kw),
                               (by_input.T @ gy.ravel()).reshape(x.shape), **CLOSE)
    by_weight = operator_matrix(lambda v: scipy_conv(x, v, **kw), w.shape)
    np.testing.assert_allclose(rgrad.conv_nd_weight(x, w.shape, gy, **kw),
                               (by_weight.T @ gy.ravel()).reshape(w.shape), **CLOSE)


# --------------------------------------------------------------------------
# Transposed convolution
# --------------------------------------------------------------------------
TRANSPOSED_CASES = [
    dict(x=(2, 4, 6), w=(4, 3, 3), stride=2, padding=1, output_padding=1, groups=2),
    dict(x=(3, 5), w=(3, 2, 4), stride=3, padding=((2, 0),), dilation=2),
    dict(x=(1, 2, 4, 5), w=(2, 3, 3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0),
         dilation=(1, 2)),
    dict(x=(1, 4, 3, 3), w=(4, 1, 3, 3), stride=2, padding=((0, 2), (1, 1)), groups=4),
    dict(x=(1, 2, 2, 3, 2), w=(2, 2, 2, 2, 3), stride=(1, 2, 2), padding=(0, 1, 1),
         output_padding=(0, 1, 0)),
]


@pytest.mark.parametrize("case", TRANSPOSED_CASES,
                         ids=lambda c: f"{len(c['w']) - 2}d-{c['x']}")
def test_transposed_and_its_gradients_match_scipy(case):
    rng = np.random.default_rng(len(str(case)))
    kw = {k: v for k, v in case.items() if k not in ("x", "w")}
    x = rng.standard_normal(case["x"])
    w = rng.standard_normal(case["w"])
    b = rng.standard_normal(w.shape[1] * kw.get("groups", 1))
    y = ref.conv_transpose_nd(x, w, b, **kw)
    np.testing.assert_allclose(y, scipy_conv_transpose(x, w, b, **kw), **CLOSE)
    # The adjoint of the convolution with the same geometry (no output_padding
    # there: it only fixes which output size the transposed one produces).
    conv_kw = {k: v for k, v in kw.items() if k != "output_padding"}
    probe = rng.standard_normal(y.shape)
    np.testing.assert_allclose(np.vdot(ref.conv_transpose_nd(x, w, None, **kw), probe),
                               np.vdot(x, scipy_conv(probe, w, **conv_kw)), **CLOSE)
    by_input = operator_matrix(lambda v: scipy_conv_transpose(v, w, **kw), x.shape)
    np.testing.assert_allclose(rgrad.conv_transpose_nd_input(x.shape, w, probe, **kw),
                               (by_input.T @ probe.ravel()).reshape(x.shape), **CLOSE)
    by_weight = operator_matrix(lambda v: scipy_conv_transpose(x, v, **kw), w.shape)
    np.testing.assert_allclose(rgrad.conv_transpose_nd_weight(x, w.shape, probe, **kw),
                               (by_weight.T @ probe.ravel()).reshape(w.shape), **CLOSE)


# --------------------------------------------------------------------------
# correlate / convolve
# --------------------------------------------------------------------------
BOUNDARY_NP = {"fill": "constant", "reflect": "symmetric", "symmetric": "symmetric",
               "mirror": "reflect", "nearest": "edge", "wrap": "wrap"}
SIGNAL_SHAPES = [((9,), (3,)), ((8,), (4,)), ((3,), (7,)), ((1,), (4,)), ((6, 5), (3, 2)),
                 ((4, 3), (5, 4)), ((5, 4, 3), (2, 3, 2))]


def scipy_full_correlate(a, b, boundary, fillvalue):
    """The full correlation of ``a`` extended by ``numpy.pad`` in ``boundary``'s mode."""
    widths = [(k - 1, k - 1) for k in b.shape]
    extra = dict(constant_values=fillvalue) if boundary == "fill" else {}
    ext = np.pad(a, widths, mode=BOUNDARY_NP[boundary], **extra)
    return ss.correlate(ext, b, "valid", method="direct")


@pytest.mark.parametrize("shapes", SIGNAL_SHAPES, ids=str)
def test_correlate_and_convolve_match_scipy(shapes):
    rng = np.random.default_rng(sum(shapes[0]) * 10 + sum(shapes[1]))
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    for mode in ("full", "same", "valid"):
        # zero fill: scipy.signal's own modes, 'same' centred by SciPy
        np.testing.assert_allclose(ref.correlate(a, b, mode), ss.correlate(a, b, mode),
                                   **CLOSE, err_msg=mode)
        np.testing.assert_allclose(ref.convolve(a, b, mode), ss.convolve(a, b, mode),
                                   **CLOSE, err_msg=mode)
    for boundary in BOUNDARY_NP:
        full = scipy_full_correlate(a, b, boundary, -1.5)
        np.testing.assert_allclose(ref.correlate(a, b, "full", boundary, -1.5), full, **CLOSE,
                                   err_msg=boundary)
        # 'same' keeps the centre of the full result as SciPy does (its
        # _centered: (full - in1) // 2 cells dropped at the start).
        centre = tuple(slice((f - n) // 2, (f - n) // 2 + n) for f, n in zip(full.shape, a.shape))
        np.testing.assert_allclose(ref.correlate(a, b, "same", boundary, -1.5), full[centre],
                                   **CLOSE, err_msg=boundary)
        # 'valid' never reads the extension.
        np.testing.assert_allclose(ref.correlate(a, b, "valid", boundary, -1.5),
                                   ss.correlate(a, b, "valid"), **CLOSE, err_msg=boundary)
        flipped = b[(slice(None, None, -1),) * b.ndim]
        np.testing.assert_allclose(ref.convolve(a, b, "full", boundary, -1.5),
                                   scipy_full_correlate(a, flipped, boundary, -1.5), **CLOSE,
                                   err_msg=boundary)


@pytest.mark.parametrize("shapes", [((11,), (3,)), ((7, 6), (3, 5)), ((4, 5, 3), (3, 1, 3))],
                         ids=str)
def test_same_matches_scipy_ndimage(shapes):
    # Odd kernels: scipy.ndimage centres them as 'same' does.
    rng = np.random.default_rng(sum(shapes[0]))
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    for boundary, mode in (("reflect", "reflect"), ("mirror", "mirror"),
                           ("nearest", "nearest"), ("wrap", "wrap"), ("fill", "constant")):
        np.testing.assert_allclose(ref.correlate(a, b, "same", boundary, 0.75),
                                   ndi.correlate(a, b, mode=mode, cval=0.75), **CLOSE,
                                   err_msg=boundary)
        np.testing.assert_allclose(ref.convolve(a, b, "same", boundary, 0.75),
                                   ndi.convolve(a, b, mode=mode, cval=0.75), **CLOSE,
                                   err_msg=boundary)


def test_trailing_channel_axis_matches_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((6, 7, 3)), rng.standard_normal((3, 2))
    got = ref.correlate(a, b, "same", "wrap")
    assert got.shape == (6, 7, 3)
    for c in range(3):
        np.testing.assert_allclose(got[..., c], ref.correlate(a[..., c], b, "same", "wrap"),
                                   **CLOSE)
        full = scipy_full_correlate(a[..., c], b, "wrap", 0.0)
        np.testing.assert_allclose(got[..., c], full[1:7, 0:7], **CLOSE)


# --------------------------------------------------------------------------
# Depthwise, separable, spatially separable, octave
# --------------------------------------------------------------------------
def test_variants_match_scipy():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 8, 7))
    dw = rng.standard_normal((6, 1, 3, 2))
    pw = rng.standard_normal((4, 6, 1, 1))
    b = rng.standard_normal(4)
    kw = dict(stride=(2, 1), padding=((1, 0), (2, 1)), dilation=(1, 2), padding_mode="reflect")
    depth = scipy_conv(x, dw, None, groups=3, **kw)
    np.testing.assert_allclose(ref.depthwise_conv2d(x, dw, **kw), depth, **CLOSE)
    np.testing.assert_allclose(ref.separable_conv2d(x, dw, pw, b, **kw),
                               scipy_conv(depth, pw, b), **CLOSE)
    # Spatially separable: the (kh, kw) kernel the two filters multiply into.
    cw = rng.standard_normal((4, 1, 3, 1))
    rw = rng.standard_normal((6, 2, 1, 2))
    kernel = np.zeros((6, 1, 3, 2))
    for o, k, u, v in itertools.product(range(6), range(2), range(3), range(2)):
        g = o // 3
        kernel[o, 0, u, v] += rw[o, k, 0, v] * cw[g * 2 + k, 0, u, 0]
    np.testing.assert_allclose(
        ref.spatially_separable_conv2d(x[:, :2], cw, rw, b[:1].repeat(6), groups=2, **kw),
        scipy_conv(x[:, :2], kernel, b[:1].repeat(6), groups=2, **kw), **CLOSE)


def _pool(v):
    h, w = v.shape[-2] // 2, v.shape[-1] // 2
    return v[..., :2 * h, :2 * w].reshape(v.shape[:-2] + (h, 2, w, 2)).mean(axis=(-3, -1))


@pytest.mark.parametrize("stride", [1, 2])
def test_octave_matches_scipy(stride):
    rng = np.random.default_rng(stride)
    xh, xl = rng.standard_normal((2, 3, 8, 12)), rng.standard_normal((2, 2, 4, 6))
    whh, whl = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal((5, 3, 3, 3))
    wlh, wll = rng.standard_normal((4, 2, 3, 3)), rng.standard_normal((5, 2, 3, 3))
    bh, bl = rng.standard_normal(4), rng.standard_normal(5)
    yh, yl = ref.octave_conv2d(xh, xl, whh, whl, wlh, wll, bh, bl, stride=stride, padding=1)
    if stride == 2:
        xh, xl = _pool(xh), _pool(xl)
    up = scipy_conv(xl, wlh, padding=1).repeat(2, axis=-2).repeat(2, axis=-1)
    np.testing.assert_allclose(yh, scipy_conv(xh, whh, bh, padding=1) + up, **CLOSE)
    np.testing.assert_allclose(yl, scipy_conv(_pool(xh), whl, bl, padding=1)
                               + scipy_conv(xl, wll, padding=1), **CLOSE)
    sh, sl = ref.octave_split(np.concatenate([xh, xl.repeat(2, -2).repeat(2, -1)], axis=1), 0.4)
    np.testing.assert_allclose(sh, xh, **CLOSE)
    np.testing.assert_allclose(sl, xl, **CLOSE)
    np.testing.assert_allclose(ref.octave_merge(xh, xl),
                               np.concatenate([xh, np.kron(xl, np.ones((2, 2)))], axis=1),
                               **CLOSE)
