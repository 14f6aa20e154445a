"""Memory layouts, ``out=``, empty batches, NaN/Inf propagation and dtypes.

Results for any input layout (strided slices, negative strides, Fortran
order, read-only arrays) must equal the contiguous case, and the inputs must
never be modified.
"""
import numpy as np
import pytest
from conftest import assert_conv_close, make_array, n_terms_of

import fastconv
from fastconv import reference

# The explicit algorithms: 'auto' runs one of them, bit for bit (tests/test_conv.py::
# test_auto_runs_one_of_the_algorithms, its hypothesis test, and the rule in
# tests/test_winograd.py::test_auto_rule), so a grid of 'auto' would repeat a grid of
# theirs. Winograd applies to 3-tap stride-1 problems only: tests/test_winograd.py runs
# it on the applicable cases of these grids and checks its refusal on the others.
ALGORITHMS = ("direct", "im2col")
assert set(ALGORITHMS) == set(fastconv.ALGORITHMS) - {"auto", "winograd"}
CONV = {1: fastconv.conv1d, 2: fastconv.conv2d, 3: fastconv.conv3d}
REF = {1: reference.conv1d, 2: reference.conv2d, 3: reference.conv3d}

# (nd, x shape, weight shape, kwargs)
PROBLEMS = [
    (1, (2, 4, 29), (6, 2, 3), dict(padding=1, groups=2)),
    (2, (2, 3, 13, 11), (5, 3, 3, 2), dict(stride=(2, 1), padding="same")),
    (3, (1, 4, 5, 6, 7), (4, 4, 2, 3, 3), dict(padding=1, padding_mode="replicate")),
]
PROBLEM_IDS = ["1d", "2d", "3d"]


def _layouts(a):
    """Non-contiguous versions of ``a`` with the same values."""
    nd = a.ndim
    out = {}
    # Every other element along every axis of a bigger array.
    big = np.zeros(tuple(2 * s for s in a.shape), dtype=a.dtype)
    big[(slice(None, None, 2),) * nd] = a
    out["step2"] = big[(slice(None, None, 2),) * nd]
    # Negative strides on the last axis and on every axis.
    out["neg_last"] = np.ascontiguousarray(a[..., ::-1])[..., ::-1]
    out["neg_all"] = np.ascontiguousarray(a[(slice(None, None, -1),) * nd])[
        (slice(None, None, -1),) * nd]
    out["fortran"] = np.asfortranarray(a)
    # Channels-last memory seen through a transpose (C-contiguous (N, *sp, C)).
    perm = (0,) + tuple(range(2, nd)) + (1,)
    inv = np.argsort(perm)
    out["transposed"] = np.ascontiguousarray(a.transpose(perm)).transpose(inv)
    ro = a.copy()
    ro.flags.writeable = False
    out["readonly"] = ro
    # Misaligned: the data starts one byte into a buffer.
    buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
    mis = buf[1:].view(a.dtype).reshape(a.shape)
    mis[...] = a
    out["unaligned"] = mis
    for name, v in out.items():
        np.testing.assert_array_equal(v, a, err_msg=name)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("problem", PROBLEMS, ids=PROBLEM_IDS)
def test_layouts_give_the_contiguous_result(problem, dtype, rng):
    # The arguments are made C-contiguous arrays of the computation dtype
    # before an algorithm is chosen (the kernels only see those): one
    # algorithm, the default, stands for all.
    algorithm = "auto"
    nd, x_shape, w_shape, kwargs = problem
    conv = CONV[nd]
    x = make_array(rng, x_shape, dtype)
    w = make_array(rng, w_shape, dtype)
    b = make_array(rng, (w_shape[0],), dtype)
    expected = conv(x, w, b, algorithm=algorithm, **kwargs)
    assert_conv_close(expected, REF[nd](x, w, b, **kwargs), dtype, n_terms_of(w, b))
    x_layouts = _layouts(x)
    w_layouts = _layouts(w)
    for name in x_layouts:
        xv, wv = x_layouts[name], w_layouts[name]
        x_before, w_before = xv.copy(), wv.copy()
        for args in ((xv, w, b), (x, wv, b), (xv, wv, b[::-1].copy()[::-1])):
            y = conv(*args, algorithm=algorithm, **kwargs)
            assert y.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(y, expected, err_msg=f"layout {name}")
        np.testing.assert_array_equal(xv, x_before, err_msg=f"input modified ({name})")
        np.testing.assert_array_equal(wv, w_before, err_msg=f"weight modified ({name})")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_inputs_are_never_modified(algorithm, mode, rng):
    x = make_array(rng, (2, 4, 9, 10), np.float32)
    w = make_array(rng, (6, 2, 3, 3), np.float32)
    b = make_array(rng, (6,), np.float32)
    copies = [a.copy() for a in (x, w, b)]
    y = fastconv.conv2d(x, w, b, padding=2, groups=2, padding_mode=mode, algorithm=algorithm)
    for a, c in zip((x, w, b), copies):
        np.testing.assert_array_equal(a, c)
    # The result does not share memory with any input.
    for a in (x, w, b):
        assert not np.shares_memory(y, a)


def test_read_only_inputs(rng):
    x = make_array(rng, (2, 3, 12, 12), np.float64)
    w = make_array(rng, (4, 3, 3, 3), np.float64)
    b = make_array(rng, (4,), np.float64)
    expected = reference.conv2d(x, w, b, padding=1)
    for a in (x, w, b):
        a.flags.writeable = False
    for algorithm in fastconv.ALGORITHMS:
        y = fastconv.conv2d(x, w, b, padding=1, algorithm=algorithm)
        terms = n_terms_of(w, b) * (16 if algorithm == "winograd" else 1)
        assert_conv_close(y, expected, np.float64, terms, err_msg=algorithm)
        assert y.flags.writeable


def test_broadcast_views_as_inputs(rng):
    # Zero strides (np.broadcast_to) are a legal read-only layout.
    row = make_array(rng, (1, 1, 15), np.float64)
    x = np.broadcast_to(row, (3, 2, 15))
    w = make_array(rng, (4, 2, 3), np.float64)
    for algorithm in ALGORITHMS:
        y = fastconv.conv1d(x, w, algorithm=algorithm)
        np.testing.assert_array_equal(y, fastconv.conv1d(x.copy(), w, algorithm=algorithm))
        assert_conv_close(y, reference.conv1d(x, w), np.float64, n_terms_of(w))


# --------------------------------------------------------------------------
# out=
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("problem", PROBLEMS, ids=PROBLEM_IDS)
def test_out_is_filled_and_returned(problem, algorithm, dtype, rng):
    nd, x_shape, w_shape, kwargs = problem
    conv = CONV[nd]
    x = make_array(rng, x_shape, dtype)
    w = make_array(rng, w_shape, dtype)
    b = make_array(rng, (w_shape[0],), dtype)
    expected = conv(x, w, b, algorithm=algorithm, **kwargs)
    out = np.full(expected.shape, np.nan, dtype=dtype)
    result = conv(x, w, b, algorithm=algorithm, out=out, **kwargs)
    assert result is out
    np.testing.assert_array_equal(out, expected)
    # Also for the unbatched form.
    out1 = np.full(expected.shape[1:], 7.0, dtype=dtype)
    result1 = conv(x[0], w, b, algorithm=algorithm, out=out1, **kwargs)
    assert result1 is out1
    np.testing.assert_array_equal(out1, expected[0])


def test_out_with_mixed_dtypes(rng):
    algorithm = "auto"     # the dtypes are settled before the algorithm is chosen
    x = make_array(rng, (2, 3, 10), np.float32)
    w = make_array(rng, (4, 3, 3), np.float64)
    out = np.empty((2, 4, 8), np.float64)
    assert fastconv.conv1d(x, w, out=out, algorithm=algorithm) is out
    assert_conv_close(out, reference.conv1d(x, w), np.float64, n_terms_of(w))
    xi = np.arange(30, dtype=np.int64).reshape(1, 3, 10)
    out_i = np.empty((1, 4, 8), np.float64)
    assert fastconv.conv1d(xi, w, out=out_i, algorithm=algorithm) is out_i
    assert_conv_close(out_i, reference.conv1d(xi, w), np.float64, n_terms_of(w))


def test_out_non_contiguous_is_correct_or_refused(rng):
    # A strided or Fortran ``out`` of the right shape and dtype must either be
    # filled correctly or be refused with a ValueError, never silently wrong.
    # (An ``out`` the kernels cannot write receives a copy, whatever the algorithm.)
    algorithm = "auto"
    x = make_array(rng, (2, 3, 9, 10), np.float64)
    w = make_array(rng, (5, 3, 3, 3), np.float64)
    expected = fastconv.conv2d(x, w, padding=1, algorithm=algorithm)
    assert_conv_close(expected, reference.conv2d(x, w, padding=1), np.float64, n_terms_of(w))
    big = np.full((2, 5, 9, 20), np.nan)
    candidates = [big[..., ::2], np.asfortranarray(np.zeros(expected.shape))]
    for out in candidates:
        try:
            result = fastconv.conv2d(x, w, padding=1, algorithm=algorithm, out=out)
        except ValueError as exc:
            assert "out" in str(exc)
            continue
        assert result is out
        np.testing.assert_array_equal(out, expected)
    # The untouched half of ``big`` is still NaN: nothing was written outside ``out``.
    assert np.isnan(big[..., 1::2]).all()


OUT_ERRORS = [
    ("shape", lambda y, x, w: np.empty(y.shape[:-1] + (y.shape[-1] + 1,), y.dtype), "shape"),
    ("unbatched-shape", lambda y, x, w: np.empty(y.shape[1:], y.dtype), "shape"),
    ("dtype", lambda y, x, w: np.empty(y.shape, np.float32), "dtype"),
    ("int-dtype", lambda y, x, w: np.empty(y.shape, np.int64), "dtype"),
]


@pytest.mark.parametrize("make_out, match", [e[1:] for e in OUT_ERRORS],
                         ids=[e[0] for e in OUT_ERRORS])
def test_out_errors(make_out, match, rng):
    # Validation: the same for every algorithm (tests/test_errors.py checks that).
    x = make_array(rng, (2, 3, 10), np.float64)
    w = make_array(rng, (4, 3, 3), np.float64)
    y = fastconv.conv1d(x, w)
    out = make_out(y, x, w)
    with pytest.raises(ValueError, match="out") as info:
        fastconv.conv1d(x, w, out=out)
    assert match in str(info.value)


def test_out_read_only_is_refused(rng):
    x = make_array(rng, (2, 3, 10), np.float64)
    w = make_array(rng, (4, 3, 3), np.float64)
    out = np.zeros((2, 4, 8))
    out.flags.writeable = False
    for algorithm in fastconv.ALGORITHMS:
        with pytest.raises(ValueError, match="out"):
            fastconv.conv1d(x, w, algorithm=algorithm, out=out)
    assert not out.any()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_out_overlapping_an_input_is_refused(algorithm, rng):
    # out aliasing x exactly (a 1x1 convolution keeps the shape).
    x = make_array(rng, (2, 4, 10), np.float64)
    w = make_array(rng, (4, 4, 1), np.float64)
    x_before = x.copy()
    with pytest.raises(ValueError, match="overlap"):
        fastconv.conv1d(x, w, algorithm=algorithm, out=x)
    with pytest.raises(ValueError, match="overlap"):
        fastconv.conv1d(x, w, algorithm=algorithm, out=x[:, :, :])
    np.testing.assert_array_equal(x, x_before)
    # out a strided view into the same buffer as x.
    buf = make_array(rng, (2, 4, 20), np.float64)
    xv = buf[:, :, :10]
    out = buf[:, :, 10:18]
    w3 = make_array(rng, (4, 4, 3), np.float64)
    with pytest.raises(ValueError, match="overlap"):
        fastconv.conv1d(buf[:, :, ::2], w3, algorithm=algorithm, out=out)
    # Disjoint halves of one buffer are fine.
    result = fastconv.conv1d(xv, w3, algorithm=algorithm, out=out)
    assert result is out
    assert_conv_close(out, reference.conv1d(xv, w3), np.float64, n_terms_of(w3))
    # out aliasing the weight or the bias.
    wbuf = make_array(rng, (2, 4, 8), np.float64)
    w_alias = wbuf.reshape(4, 4, 4)
    x2 = make_array(rng, (2, 4, 11), np.float64)
    with pytest.raises(ValueError, match="overlap"):
        fastconv.conv1d(x2, w_alias, algorithm=algorithm, out=wbuf)
    bbuf = np.zeros((1, 4, 9))
    with pytest.raises(ValueError, match="overlap"):
        fastconv.conv1d(x2[:1], w3, bbuf[0, :, 0], algorithm=algorithm, out=bbuf)


# --------------------------------------------------------------------------
# Empty batch, unbatched input, result dtype
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize("problem", PROBLEMS, ids=PROBLEM_IDS)
def test_empty_batch(problem, dtype, rng):
    algorithm = "auto"     # nothing is computed for an empty batch
    nd, x_shape, w_shape, kwargs = problem
    x = np.zeros((0,) + x_shape[1:], dtype)
    w = make_array(rng, w_shape, dtype)
    y = CONV[nd](x, w, algorithm=algorithm, **kwargs)
    expected = REF[nd](x, w, **kwargs)
    assert y.shape == expected.shape
    assert y.shape[0] == 0
    assert y.dtype == (np.float64 if dtype == np.int32 else np.dtype(dtype))
    out = np.empty(expected.shape, y.dtype)
    assert CONV[nd](x, w, algorithm=algorithm, out=out, **kwargs) is out


@pytest.mark.parametrize("problem", PROBLEMS, ids=PROBLEM_IDS)
def test_unbatched_returns_unbatched(problem, rng):
    algorithm = "auto"     # a batch of one is added before the algorithm is chosen
    nd, x_shape, w_shape, kwargs = problem
    x = make_array(rng, x_shape[1:], np.float32)
    w = make_array(rng, w_shape, np.float32)
    y = CONV[nd](x, w, algorithm=algorithm, **kwargs)
    assert y.ndim == nd + 1
    yb = CONV[nd](x[None], w, algorithm=algorithm, **kwargs)
    np.testing.assert_array_equal(y, yb[0])
    assert y.shape == fastconv.conv_output_shape(x.shape, w.shape, kwargs.get("stride", 1),
                                                 kwargs.get("padding", 0),
                                                 kwargs.get("dilation", 1))


@pytest.mark.parametrize(
    "x_dtype, w_dtype, expected",
    [
        (np.float32, np.float32, np.float32),
        (np.float64, np.float64, np.float64),
        (np.float32, np.float64, np.float64),
        (np.float64, np.float32, np.float64),
        (np.int32, np.int32, np.float64),
        (np.int64, np.float64, np.float64),
        (np.uint8, np.int16, np.float64),
        (np.bool_, np.bool_, np.float64),
    ],
)
def test_result_dtype(x_dtype, w_dtype, expected, rng):
    x = make_array(rng, (1, 2, 6, 6), x_dtype)
    w = make_array(rng, (3, 2, 3, 3), w_dtype)
    for algorithm in ALGORITHMS:
        y = fastconv.conv2d(x, w, algorithm=algorithm)
        assert y.dtype == np.dtype(expected)
        assert y.flags.c_contiguous


# --------------------------------------------------------------------------
# NaN and Inf propagate to exactly the outputs whose window contains them
# --------------------------------------------------------------------------
NAN_PROBLEMS = [
    (1, (2, 3, 31), (4, 3, 3), dict(padding=1)),
    (1, (1, 4, 40), (4, 2, 4), dict(padding="same", stride=3, dilation=2, groups=2)),
    (2, (2, 3, 13, 11), (5, 3, 3, 3), dict(padding=1, padding_mode="reflect")),
    (2, (1, 4, 12, 9), (4, 1, 3, 2), dict(padding=((2, 0), (1, 1)), groups=4,
                                          padding_mode="circular")),
    (2, (1, 2, 10, 10), (3, 2, 3, 3), dict(stride=2, padding=1, padding_mode="replicate")),
    (3, (1, 2, 5, 6, 7), (3, 2, 2, 3, 3), dict(padding=1, dilation=(1, 2, 1))),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("problem", NAN_PROBLEMS, ids=lambda p: f"{p[0]}d-{p[3]}")
@pytest.mark.parametrize("special", ["nan", "inf"])
def test_nan_inf_propagation(special, problem, algorithm, dtype, rng):
    nd, x_shape, w_shape, kwargs = problem
    x = make_array(rng, x_shape, dtype)
    # Weights bounded away from zero so that every tap really carries its input.
    w = (rng.uniform(0.5, 1.5, w_shape) * rng.choice([-1, 1], w_shape)).astype(dtype)
    b = make_array(rng, (w_shape[0],), dtype)
    flat = x.reshape(-1)
    if special == "nan":
        idx = rng.choice(flat.size, size=3, replace=False)
        flat[idx] = np.nan
        # One more on the border of the first channel to exercise the padding.
        x[(0, 0) + (0,) * nd] = np.nan
    else:
        # A single +Inf: outputs see +Inf or -Inf (weight sign), never Inf - Inf.
        x[(0, 0) + tuple(s // 2 for s in x_shape[2:])] = np.inf
    y = CONV[nd](x, w, b, algorithm=algorithm, **kwargs)
    expected = REF[nd](x, w, b, **kwargs)
    assert np.isnan(expected).any() or np.isinf(expected).any()
    assert (~np.isfinite(expected)).sum() < expected.size, "test problem too small"
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(expected))
    np.testing.assert_array_equal(np.signbit(y[np.isinf(y)]),
                                  np.signbit(expected[np.isinf(expected)]))
    assert_conv_close(y, expected, dtype, n_terms_of(w, b))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_nan_mask_matches_window_definition(algorithm):
    # Independent of the reference: with a single NaN at input position i and
    # zero padding, output p is NaN iff p*stride + t*dilation - pad == i for some tap t.
    length, k, stride, dilation, pad = 37, 3, 2, 3, 4
    x = np.ones((1, 1, length))
    i = 17
    x[0, 0, i] = np.nan
    w = np.ones((1, 1, k))
    y = fastconv.conv1d(x, w, stride=stride, dilation=dilation, padding=pad,
                        algorithm=algorithm)
    n_out = (length + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    expected = np.array([any(p * stride + t * dilation - pad == i for t in range(k))
                         for p in range(n_out)])
    np.testing.assert_array_equal(np.isnan(y[0, 0]), expected)
