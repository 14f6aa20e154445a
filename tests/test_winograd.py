"""Winograd F(2, 3) and the plans that cache its transformed weights.

* Every case of the main grids (tests/test_conv.py) with ``algorithm='winograd'``:
  compared with the reference where Winograd applies (3 or 1 taps along every
  axis, one of them 3, stride 1: groups, depthwise with a channel multiplier,
  dilation through sub-grids, every padding form and mode), and the
  ValueError that says why where it does not.
* The accuracy the docs state: float32 within a few times direct's error,
  float64 at float64 accuracy.
* Bitwise identical results for any thread count, at every SIMD level.
* Plans: the same result as a plain call, other batch sizes, layouts, ``out``,
  the weights copied, the errors.
"""
import numpy as np
import pytest
from conftest import assert_conv_close, make_array, n_terms_of
from hypothesis import given, settings
from hypothesis import strategies as st
from test_conv import CONV, GRID, LAYERS, REF, TORCH_CASES

import fastconv
from fastconv import _dispatch, reference
from fastconv._args import stand_in, winograd_reason
from fastconv._kernels import _gemm

# Winograd's float32 rounding error is larger than a direct sum's (the input
# and output transforms add and subtract values of the size of the inputs):
# it is held to 4x the direct tolerance (16x the terms under the square root).
WINOGRAD_TERMS = 16


def _stride(case):
    s = case.stride
    return (s,) * case.nd if isinstance(s, int) else tuple(s)


def applies(case):
    return winograd_reason(case.kernel, _stride(case)) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [c for c in GRID + LAYERS if applies(c)], ids=lambda c: c.id)
def test_grid(case, dtype, rng):
    x, w, b = case.arrays(rng, dtype)
    y = CONV[case.nd](x, w, b, algorithm="winograd", **case.kwargs())
    expected = REF[case.nd](x, w, b, **case.kwargs())
    assert_conv_close(y, expected, dtype, WINOGRAD_TERMS * n_terms_of(w, b), err_msg=str(case))


def test_grid_where_it_cannot_apply_says_why(rng):
    # The refusal depends on the kernel and the stride only (no dtype, no
    # computation): every inapplicable case of the grids, once.
    refused = [c for c in GRID + LAYERS if not applies(c)]
    assert len(refused) >= 40
    for case in refused:
        x, w, b = case.arrays(rng, np.float32)
        with pytest.raises(ValueError, match="winograd") as info:
            CONV[case.nd](x, w, b, algorithm="winograd", **case.kwargs())
        assert winograd_reason(case.kernel, _stride(case)) in str(info.value), case.id


def test_grid_has_enough_applicable_cases():
    assert sum(applies(c) for c in GRID + LAYERS) >= 40


EXTRA = [
    # dilation along one axis, both axes, 1-D, 3-D; every residue count.
    dict(nd=2, x=(2, 5, 23, 19), w=(6, 5, 3, 3), kw=dict(padding=3, dilation=(3, 1))),
    dict(nd=2, x=(1, 4, 17, 22), w=(4, 4, 3, 3), kw=dict(padding=((0, 5), (4, 1)), dilation=(2, 4))),
    dict(nd=1, x=(3, 6, 50), w=(5, 6, 3), kw=dict(padding="same", dilation=5)),
    dict(nd=3, x=(1, 3, 8, 9, 10), w=(4, 3, 3, 3, 3), kw=dict(padding=2, dilation=2)),
    # (3, 1) and (1, 3) kernels, a 3-D kernel with one 1-tap axis.
    dict(nd=2, x=(2, 7, 15, 16), w=(9, 7, 3, 1), kw=dict(padding=(1, 0))),
    dict(nd=2, x=(2, 7, 15, 16), w=(9, 7, 1, 3), kw=dict(padding="same")),
    dict(nd=3, x=(1, 4, 6, 7, 8), w=(5, 4, 1, 3, 3), kw=dict(padding=(0, 1, 1))),
    # groups, depthwise, depthwise with a channel multiplier.
    dict(nd=2, x=(2, 12, 13, 14), w=(18, 4, 3, 3), kw=dict(padding=1, groups=3)),
    dict(nd=2, x=(1, 9, 20, 21), w=(9, 1, 3, 3), kw=dict(padding=1, groups=9)),
    dict(nd=2, x=(1, 5, 20, 21), w=(15, 1, 3, 3), kw=dict(padding=2, groups=5, dilation=2)),
    # large padding (tiles entirely in the padding), tiny outputs.
    dict(nd=2, x=(1, 3, 4, 5), w=(2, 3, 3, 3), kw=dict(padding=4)),
    dict(nd=2, x=(1, 3, 3, 3), w=(2, 3, 3, 3), kw=dict(padding=0)),
    # non-zero padding modes (applied before the kernel).
    dict(nd=2, x=(2, 6, 11, 12), w=(8, 6, 3, 3), kw=dict(padding=1, padding_mode="reflect")),
    dict(nd=1, x=(2, 6, 41), w=(8, 3, 3), kw=dict(padding=2, groups=2, padding_mode="circular")),
    # enough tiles and channels for several blocks of tiles and of channels.
    dict(nd=2, x=(2, 40, 45, 37), w=(70, 40, 3, 3), kw=dict(padding=1)),
    dict(nd=1, x=(3, 48, 700), w=(50, 48, 3), kw=dict(padding=1)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", EXTRA, ids=lambda c: f"{c['nd']}d-{c['x']}-{c['w']}-{c['kw']}")
def test_extra_cases(case, dtype, rng):
    x = make_array(rng, case["x"], dtype)
    w = make_array(rng, case["w"], dtype)
    b = make_array(rng, case["w"][:1], dtype)
    y = CONV[case["nd"]](x, w, b, algorithm="winograd", **case["kw"])
    expected = REF[case["nd"]](x, w, b, **case["kw"])
    assert_conv_close(y, expected, dtype, WINOGRAD_TERMS * n_terms_of(w, b))


@st.composite
def winograd_problems(draw):
    """Problems Winograd applies to: 1 or 3 taps per axis (one of them 3),
    stride 1, any dilation, padding, groups and batch."""
    nd = draw(st.integers(1, 3))
    kernel = tuple(draw(st.sampled_from([1, 3])) for _ in range(nd))
    if 3 not in kernel:
        kernel = (3,) + kernel[1:]
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, 3)) for _ in range(nd))
    spatial = tuple(max(draw(st.integers(1, 14 if nd < 3 else 7)), d * (k - 1) + 1 - 2 * p)
                    for k, d, p in zip(kernel, dilation, padding))
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 4))
    c_out = groups * draw(st.integers(1, 4))
    batch = draw(st.sampled_from([None, 1, 2, 3]))
    return dict(nd=nd, kernel=kernel, spatial=spatial, c_in=c_in, c_out=c_out, batch=batch,
                bias=draw(st.booleans()),
                kwargs=dict(padding=padding, dilation=dilation, groups=groups))


@settings(max_examples=80, deadline=None)
@given(problem=winograd_problems(), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**32 - 1))
def test_hypothesis(problem, dtype, seed):
    rng = np.random.default_rng(seed)
    nd = problem["nd"]
    lead = () if problem["batch"] is None else (problem["batch"],)
    groups = problem["kwargs"]["groups"]
    x = make_array(rng, lead + (problem["c_in"],) + problem["spatial"], dtype)
    w = make_array(rng, (problem["c_out"], problem["c_in"] // groups) + problem["kernel"], dtype)
    b = make_array(rng, (problem["c_out"],), dtype) if problem["bias"] else None
    y = CONV[nd](x, w, b, algorithm="winograd", **problem["kwargs"])
    expected = REF[nd](x, w, b, **problem["kwargs"])
    assert_conv_close(y, expected, dtype, WINOGRAD_TERMS * n_terms_of(w, b), err_msg=str(problem))


@pytest.mark.parametrize("case", [c for c in TORCH_CASES if applies(c)], ids=lambda c: c.id)
def test_against_torch(case, rng):
    torch = pytest.importorskip("torch")
    x, w, b = case.arrays(rng, np.float32)
    y = CONV[case.nd](x, w, b, algorithm="winograd", **case.kwargs())
    F = torch.nn.functional
    tconv = (F.conv1d, F.conv2d, F.conv3d)[case.nd - 1]
    tx, tw, tb = (torch.from_numpy(a.astype(np.float64)) for a in (x, w, b))
    if case.padding_mode != "zeros":
        tx = F.pad(tx, [case.padding] * (2 * case.nd), mode=case.padding_mode)
        expected = tconv(tx, tw, tb, dilation=case.dilation, groups=case.groups)
    else:
        expected = tconv(tx, tw, tb, padding=case.padding, dilation=case.dilation,
                         groups=case.groups)
    assert_conv_close(y, expected.numpy(), np.float32, WINOGRAD_TERMS * n_terms_of(w, b))


# --------------------------------------------------------------------------
# Accuracy, as documented
# --------------------------------------------------------------------------
@pytest.mark.parametrize("channels", [64, 256])
def test_float32_error_bound(channels, rng):
    # Max error relative to max|y| stays below 2e-6 (measured: 3e-7 to 7e-7),
    # and within 3x the error of the direct algorithm on the same data.
    x = rng.standard_normal((1, channels, 14, 14)).astype(np.float32)
    w = rng.standard_normal((channels, channels, 3, 3)).astype(np.float32)
    expected = reference.conv2d(x, w, padding=1)
    scale = np.abs(expected).max()
    err_w = np.abs(fastconv.conv2d(x, w, padding=1, algorithm="winograd") - expected).max()
    err_d = np.abs(fastconv.conv2d(x, w, padding=1, algorithm="direct") - expected).max()
    assert err_w / scale < 2e-6
    assert err_w < 3 * err_d


def test_float64_stays_at_float64_accuracy(rng):
    x = rng.standard_normal((2, 64, 17, 19))
    w = rng.standard_normal((32, 64, 3, 3))
    expected = reference.conv2d(x, w, padding=1)
    y = fastconv.conv2d(x, w, padding=1, algorithm="winograd")
    assert np.abs(y - expected).max() / np.abs(expected).max() < 1e-14


def test_exact_on_small_integers(rng):
    # Transforms only halve (exact) and add small integers: the result is exact.
    x = rng.integers(-4, 5, size=(2, 5, 11, 13)).astype(np.float64)
    w = rng.integers(-4, 5, size=(7, 5, 3, 3)).astype(np.float64)
    y = fastconv.conv2d(x, w, padding=1, algorithm="winograd")
    np.testing.assert_array_equal(y, reference.conv2d(x, w, padding=1))


def test_non_finite_values_propagate(rng):
    x = rng.standard_normal((1, 4, 10, 10))
    x[0, 1, 4, 5] = np.nan
    w = rng.standard_normal((3, 4, 3, 3))
    y = fastconv.conv2d(x, w, padding=1, algorithm="winograd")
    expected = reference.conv2d(x, w, padding=1)
    # A NaN reaches every output whose tiles read it (a superset of the direct
    # definition's); the other outputs stay finite and correct.
    assert np.isnan(y[np.isnan(expected)]).all()
    finite = np.isfinite(y)
    assert finite.sum() > 0.8 * y.size
    np.testing.assert_allclose(y[finite], expected[finite], rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# Threads and SIMD levels
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [((2, 24, 31, 29), (40, 24, 3, 3), {}),
                                   ((1, 16, 9, 60), (16, 4, 3, 3), {"groups": 4}),
                                   ((1, 300, 14, 14), (300, 300, 3, 3), {})],
                         ids=["2d", "grouped", "few-tiles"])
def test_bitwise_identical_across_thread_counts(shape, dtype, rng, threads):
    x_shape, w_shape, kwargs = shape
    x, w = make_array(rng, x_shape, dtype), make_array(rng, w_shape, dtype)
    results = []
    for n in (1, 2, 3, 5):
        fastconv.set_num_threads(n)
        results.append(fastconv.conv2d(x, w, padding=1, algorithm="winograd", **kwargs))
    for y in results[1:]:
        assert np.array_equal(y, results[0])


@pytest.mark.parametrize("level", [lvl for lvl in _gemm.ISA_LEVELS
                                   if lvl in _gemm.isa_levels()])
def test_every_simd_level(level, rng):
    x = make_array(rng, (2, 20, 19, 23), np.float32)
    w = make_array(rng, (22, 20, 3, 3), np.float32)
    expected = reference.conv2d(x, w, padding=1)
    previous = _gemm.isa_get()
    try:
        _gemm.isa_set(level)
        y = fastconv.conv2d(x, w, padding=1, algorithm="winograd")
        plan = fastconv.plan_conv2d(w, x.shape, padding=1, algorithm="winograd")
    finally:
        _gemm.isa_set(previous)
    assert_conv_close(y, expected, np.float32, WINOGRAD_TERMS * n_terms_of(w, None))
    # A plan keeps the level it packed its weights for.
    assert np.array_equal(plan(x), y)


# --------------------------------------------------------------------------
# The auto rule
# --------------------------------------------------------------------------
def _problem(x_shape, w_shape, **kwargs):
    from fastconv._args import prepare_conv
    nd = len(x_shape) - 2
    x = stand_in(x_shape)
    return prepare_conv(nd, x, np.zeros(w_shape, np.float32), None, kwargs.get("stride", 1),
                        kwargs.get("padding", 0), kwargs.get("dilation", 1),
                        kwargs.get("groups", 1), "zeros", "auto", None,
                        convert_input=False)[0]


def test_auto_rule():
    choose = _dispatch.choose_algorithm
    resnet = _problem((1, 64, 56, 56), (64, 64, 3, 3), padding=1)
    assert choose(resnet) == "winograd"
    small = _problem((1, 64, 14, 14), (64, 64, 3, 3), padding=1)
    assert choose(small) == "im2col"            # too few tiles to amortise the transforms
    assert choose(small, planned=True) == "winograd"
    wide = _problem((1, 256, 14, 14), (256, 256, 3, 3), padding=1)
    assert choose(wide) == "winograd"           # 49 tiles, but wide GEMMs
    # 49 tiles of 512 channels: 16.8 MB of transformed weights, too much for so few.
    widest = _problem((1, 512, 14, 14), (512, 512, 3, 3), padding=1)
    assert choose(widest) == "im2col"
    assert choose(widest, planned=True) == "winograd"
    assert choose(_problem((8, 512, 14, 14), (512, 512, 3, 3), padding=1)) == "winograd"
    assert choose(_problem((1, 512, 7, 7), (512, 512, 3, 3), padding=1)) == "im2col"
    assert choose(_problem((1, 64, 56, 56), (64, 64, 3, 3), stride=2)) == "im2col"
    assert choose(_problem((1, 64, 56, 56), (64, 1, 3, 3), groups=64)) == "direct"
    assert choose(_problem((8, 64, 4096), (64, 64, 3), padding=1)) == "winograd"
    # Dilated: Winograd up to a dilation of 4, im2col beyond (tiles gather far apart).
    assert choose(_problem((1, 128, 4000), (128, 128, 3), padding=4, dilation=4)) == "winograd"
    assert choose(_problem((1, 128, 4000), (128, 128, 3), padding=16, dilation=16)) == "im2col"
    assert choose(_problem((1, 128, 56, 56), (128, 128, 3, 3), padding=8, dilation=(1, 8))) \
        == "im2col"


# --------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------
PLAN_CASES = [
    (fastconv.plan_conv1d, fastconv.conv1d, (2, 6, 40), (8, 6, 3), dict(padding=1)),
    (fastconv.plan_conv2d, fastconv.conv2d, (2, 20, 17, 19), (24, 20, 3, 3),
     dict(padding="same", dilation=2)),
    (fastconv.plan_conv2d, fastconv.conv2d, (1, 8, 17, 19), (12, 4, 5, 5),
     dict(padding=2, stride=2, groups=2)),
    (fastconv.plan_conv2d, fastconv.conv2d, (3, 9, 10), (6, 3, 3, 3),
     dict(padding=1, padding_mode="reflect")),
    (fastconv.plan_conv3d, fastconv.conv3d, (1, 3, 6, 7, 8), (4, 3, 3, 3, 3), dict(padding=1)),
]


@pytest.mark.parametrize("algorithm", fastconv.ALGORITHMS)
@pytest.mark.parametrize("case", PLAN_CASES, ids=lambda c: f"{c[0].__name__}-{c[4]}")
def test_plan_equals_plain_call(case, algorithm, rng):
    plan_fn, conv, x_shape, w_shape, kwargs = case
    w = make_array(rng, w_shape, np.float32)
    b = make_array(rng, w_shape[:1], np.float32)
    kernel = w_shape[2:]
    stride = kwargs.get("stride", 1)
    if algorithm == "winograd" and winograd_reason(kernel, (stride,) * len(kernel)):
        with pytest.raises(ValueError, match="winograd"):
            plan_fn(w, x_shape, b, algorithm=algorithm, **kwargs)
        return
    plan = plan_fn(w, x_shape, b, algorithm=algorithm, **kwargs)
    assert plan.algorithm in ("direct", "im2col", "winograd")
    for _ in range(2):
        x = make_array(rng, x_shape, np.float32)
        x_copy = x.copy()
        y = plan(x)
        np.testing.assert_array_equal(x, x_copy)
        assert y.shape == plan.output_shape and y.dtype == np.float32
        # The same algorithm on the same data: the same bits as a plain call,
        # and within the algorithm's tolerance of the reference.
        np.testing.assert_array_equal(y, conv(x, w, b, algorithm=plan.algorithm, **kwargs))
        terms = (WINOGRAD_TERMS if plan.algorithm == "winograd" else 1) * n_terms_of(w, b)
        assert_conv_close(y, getattr(reference, conv.__name__)(x, w, b, **kwargs), np.float32,
                          terms, err_msg=plan.algorithm)


def test_plan_other_batch_sizes_and_out(rng):
    w = make_array(rng, (32, 32, 3, 3), np.float64)
    plan = fastconv.plan_conv2d(w, (4, 32, 12, 12), padding=1)
    assert plan.algorithm == "winograd" and plan.dtype == np.float64
    for n in (1, 4, 7, 0):
        x = make_array(rng, (n, 32, 12, 12), np.float64)
        out = np.empty((n, 32, 12, 12))
        assert plan(x, out=out) is out
        assert_conv_close(out, reference.conv2d(x, w, padding=1), np.float64,
                          WINOGRAD_TERMS * n_terms_of(w, None))


def test_plan_channels_last_and_unbatched(rng):
    w = make_array(rng, (5, 3, 3, 3), np.float32)
    plan = fastconv.plan_conv2d(w, (9, 10, 3), padding=1, layout="channels_last",
                                algorithm="winograd")
    assert plan.output_shape == (9, 10, 5)
    image = make_array(rng, (9, 10, 3), np.float32)
    y = plan(image)
    expected = np.moveaxis(reference.conv2d(np.moveaxis(image, -1, 0), w, padding=1), 0, -1)
    assert_conv_close(y, expected, np.float32, WINOGRAD_TERMS * n_terms_of(w, None))


def test_plan_copies_weights_and_converts_inputs(rng):
    w = make_array(rng, (4, 2, 3, 3), np.float32)
    plan = fastconv.plan_conv2d(w, (1, 2, 8, 8), padding=1)
    x = make_array(rng, (1, 2, 8, 8), np.float64)
    before = plan(x)
    assert before.dtype == np.float32
    w[...] = 0                                   # the plan kept its own weights
    np.testing.assert_array_equal(plan(x), before)
    assert fastconv.plan_conv2d(w, (1, 2, 8, 8), dtype=np.float64).dtype == np.float64


def test_plan_errors(rng):
    w = np.zeros((4, 2, 3, 3), np.float32)
    with pytest.raises(ValueError, match="input has 3 channels"):
        fastconv.plan_conv2d(w, (1, 3, 8, 8))
    with pytest.raises(ValueError, match="dtype"):
        fastconv.plan_conv2d(w, (1, 2, 8, 8), dtype=np.int32)
    with pytest.raises(ValueError, match="input_shape"):
        fastconv.plan_conv2d(w, (1, -2, 8, 8))
    with pytest.raises(ValueError, match="winograd"):
        fastconv.plan_conv2d(w, (1, 2, 8, 8), stride=2, algorithm="winograd")
    plan = fastconv.plan_conv2d(w, (1, 2, 8, 8))
    with pytest.raises(ValueError, match=r"\(1, 2, 8, 8\) \(any batch size\)"):
        plan(np.zeros((1, 2, 8, 9)))
    with pytest.raises(ValueError, match="out has shape"):
        plan(np.zeros((1, 2, 8, 8)), out=np.zeros((1, 4, 5, 5), np.float32))
    with pytest.raises(ValueError, match="out has dtype"):
        plan(np.zeros((1, 2, 8, 8)), out=np.zeros((1, 4, 6, 6)))
    assert "winograd" in repr(fastconv.plan_conv2d(np.zeros((32, 32, 3, 3)), (1, 32, 8, 8)))


def test_plan_weight_transform_matches_definition(rng):
    # U = G g G^T, checked against a direct NumPy evaluation of the matrices.
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    g = rng.standard_normal((3, 3))
    U = G @ g @ G.T
    # A 1-channel, 1-output problem on a 4x4 input tile is one element-wise
    # product: y = A^T [U . (B^T d B)] A.
    BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])
    AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]])
    d = rng.standard_normal((4, 4))
    y = AT @ (U * (BT @ d @ BT.T)) @ AT.T
    expected = reference.conv2d(d[None, None], g[None, None])[0, 0]
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    got = fastconv.conv2d(d[None, None], g[None, None], algorithm="winograd")[0, 0]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(13, 5, 3, 3), (14, 7, 1, 3, 3), (8, 3, 3, 3, 3), (7, 2, 3)])
@pytest.mark.parametrize("groups", [1, 2])
def test_packed_weights_layout(shape, dtype, groups, rng, restore_threads):
    # The transformed weights in the GEMM's packed-A layout: point p, group g,
    # row panel i of MR rows, channel c at [p, g, i, c, r]; the rows past
    # C_out / groups of the last panel are zero (written by the threads, no
    # array-wide zeroing), whatever the thread count.
    from fastconv._kernels import _conv
    c_out = shape[0] * groups
    w = rng.standard_normal((c_out,) + shape[1:]).astype(dtype)
    w5 = w.reshape(w.shape[:2] + (1,) * (5 - w.ndim) + w.shape[2:])
    isa = _dispatch.isa_level()
    mr = _gemm.register_tile(dtype)[0]
    m, k = shape[0], shape[1]
    npan = -(-m // mr)
    results = []
    for threads in (1, 2, 3):
        ap = _conv.winograd_weights(np.ascontiguousarray(w5), groups, isa, threads)
        points = ap.size // (groups * npan * k * mr)
        panels = ap.reshape(points, groups, npan, k, mr)
        rows = m - (npan - 1) * mr
        assert np.all(panels[:, :, -1, :, rows:] == 0)
        results.append(ap)
    for ap in results[1:]:
        np.testing.assert_array_equal(ap, results[0])
    # Point 0 of a 3-tap axis is the first tap (G's first row): U[0] = g[0].
    if w.ndim == 3:
        panels = results[0].reshape(4, groups, npan, k, mr)
        first = panels[0].transpose(0, 1, 3, 2).reshape(groups, npan * mr, k)[:, :m]
        np.testing.assert_array_equal(first, w[:, :, 0].reshape(groups, m, k))
