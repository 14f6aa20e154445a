"""Repeated calls of the same shapes reuse the validated problem and the
dispatch's shape work (``_args._problems``, ``_dispatch._call_shapes``,
a plan's problem per batch size): the cache must hold nothing that depends
on values, must not hide an error, and must key everything a result depends
on (dtype, padding mode, batch size, the parameters' forms).
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import assert_conv_close

import fastconv
from fastconv import _args, reference


def _arrays(rng, x_shape, w_shape, dtype=np.float32):
    return (rng.standard_normal(x_shape).astype(dtype),
            rng.standard_normal(w_shape).astype(dtype))


def test_repeated_call_uses_the_new_values(rng):
    # Same shapes, other values: every result is the reference's for its own
    # arrays (nothing value-dependent is kept), and the problem is cached.
    _args._problems.clear()
    for _ in range(3):
        x, w = _arrays(rng, (2, 3, 13, 11), (5, 3, 3, 3))
        b = rng.standard_normal(5).astype(np.float32)
        x0, w0 = x.copy(), w.copy()
        y = fastconv.conv2d(x, w, b, padding=1)
        assert_conv_close(y, reference.conv2d(x, w, b, padding=1), np.float32, 27)
        np.testing.assert_array_equal(x, x0)        # inputs never modified
        np.testing.assert_array_equal(w, w0)
    assert len(_args._problems) == 1


@pytest.mark.parametrize("bad, match", [
    (dict(stride=True), "stride must contain|stride must be an int"),
    (dict(stride=0), "stride must be >= 1"),
    (dict(padding=-1), "padding"),
    (dict(groups=True), "groups must be a positive int"),
])
def test_errors_after_a_cached_call(rng, bad, match):
    # A valid call of the same shapes first: a bool that equals the cached
    # int, or a bad value, still gets its error.
    x, w = _arrays(rng, (1, 2, 9, 9), (2, 2, 3, 3))
    fastconv.conv2d(x, w, stride=1, padding=0, groups=1)
    args = dict(stride=1, padding=0, groups=1)
    args.update(bad)
    with pytest.raises((ValueError, TypeError), match=match):
        fastconv.conv2d(x, w, **args)


def test_bias_shape_checked_after_a_cached_call(rng):
    x, w = _arrays(rng, (1, 2, 9, 9), (4, 2, 3, 3))
    fastconv.conv2d(x, w, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        fastconv.conv2d(x, w, np.zeros(3, np.float32))


def test_dtype_and_parameter_forms_are_keys(rng):
    # float32 then float64 of the same shapes; a NumPy int and a list
    # parameter (validated every time) give the same result as the int.
    x, w = _arrays(rng, (1, 3, 10, 10), (4, 3, 3, 3))
    y32 = fastconv.conv2d(x, w, padding=1)
    y64 = fastconv.conv2d(x.astype(np.float64), w.astype(np.float64), padding=1)
    assert y32.dtype == np.float32 and y64.dtype == np.float64
    ref = reference.conv2d(x, w, padding=1)
    assert_conv_close(y64, ref, np.float64, 27)
    for padding in (np.int64(1), [1, 1], (1, 1)):
        np.testing.assert_array_equal(fastconv.conv2d(x, w, padding=padding), y32)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "circular"])
def test_padding_modes_repeated(rng, mode):
    # Explicitly padded inputs reach the kernel with their padded shape.
    x, w = _arrays(rng, (1, 2, 7, 9), (3, 2, 3, 3), np.float64)
    ref = reference.conv2d(x, w, padding=2, padding_mode=mode)
    for _ in range(2):
        y = fastconv.conv2d(x, w, padding=2, padding_mode=mode)
        assert_conv_close(y, ref, np.float64, 18)


def test_plan_batch_sizes(rng):
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    plan = fastconv.plan_conv2d(w, (2, 3, 8, 8), padding=1)
    for n in (2, 5, 2, 1, 5):
        x = rng.standard_normal((n, 3, 8, 8)).astype(np.float32)
        y = plan(x)
        assert y.shape == (n, 4, 8, 8)
        assert_conv_close(y, reference.conv2d(x, w, padding=1), np.float32, 27)


def test_cache_is_bounded(rng):
    _args._problems.clear()
    w = rng.standard_normal((1, 1, 3)).astype(np.float32)
    for n in range(_args.PROBLEM_CACHE_SIZE + 5):
        fastconv.conv1d(np.zeros((1, 1, 3 + n), np.float32), w)
    assert 0 < len(_args._problems) <= _args.PROBLEM_CACHE_SIZE


def test_threads_share_the_cache(rng):
    # Four threads call two shapes alternately; every result is right.
    cases = []
    for shape in ((1, 4, 12, 12), (2, 4, 7, 9)):
        x, w = _arrays(rng, shape, (6, 4, 3, 3), np.float64)
        cases.append((x, w, fastconv.conv2d(x, w, padding=1)))

    def work(i):
        for j in range(40):
            x, w, y = cases[(i + j) % 2]
            np.testing.assert_array_equal(fastconv.conv2d(x, w, padding=1), y)
        return i
    with ThreadPoolExecutor(4) as pool:     # an exception of a worker is raised here
        assert list(pool.map(work, range(4))) == [0, 1, 2, 3]


@pytest.mark.parametrize("boundary", ["fill", "reflect", "wrap"])
@pytest.mark.parametrize("shapes", [((64,), (5,)), ((32, 31), (3, 3)), ((4, 5), (7, 9))])
def test_correlate_repeated(rng, boundary, shapes):
    # The index maps and costs of these shapes are reused: results still
    # follow each call's own values (and the kernel larger than the input
    # swaps roles every time).
    from fastconv import _signal
    for _ in range(3):
        a = rng.standard_normal(shapes[0])
        b = rng.standard_normal(shapes[1])
        for fn in ("correlate", "convolve"):
            got = getattr(fastconv, fn)(a, b, mode="same", boundary=boundary, fillvalue=0.5)
            ref = getattr(reference, fn)(a, b, mode="same", boundary=boundary, fillvalue=0.5)
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    for setup in _signal._setups.values():
        assert all(not m.flags.writeable for m, _, _ in setup.maps)
        assert setup.rows is None or not setup.rows.flags.writeable


def test_correlate_errors_after_a_cached_call(rng):
    a, b = rng.standard_normal(16), rng.standard_normal(3)
    fastconv.correlate(a, b, mode="same")
    with pytest.raises(TypeError, match="fillvalue must be a real number"):
        fastconv.correlate(a, b, mode="same", fillvalue=1j)
    with pytest.raises(ValueError, match="mode="):
        fastconv.correlate(a, b, mode=["same"])
    with pytest.raises(ValueError, match="algorithm="):
        fastconv.correlate(a, b, mode="same", algorithm="winograd2")
    with pytest.raises(ValueError, match="one input must be at least as large"):
        fastconv.correlate(np.ones((4, 9)), np.ones((5, 3)), mode="valid")


def test_small_rank1_kernels_keyed_by_values(rng):
    # The factorisation of a small kernel is remembered by its exact values:
    # another rank-1 kernel of the same shape gets its own factors, a kernel
    # of rank 2 none, and the first kernel again its own.
    from fastconv import _signal
    x = np.zeros((512, 512))
    k1 = np.outer(rng.standard_normal(7), rng.standard_normal(7))
    k2 = np.outer(rng.standard_normal(7), rng.standard_normal(7))
    k3 = k1 + np.outer(rng.standard_normal(7), rng.standard_normal(7))
    for k in (k1, k2, k3, k1):
        algorithm, uv = _signal.choose_correlate_algorithm(x, k, (512, 512))
        if k is k3:
            assert algorithm != "separable" and uv is None
        else:
            assert algorithm == "separable"
            np.testing.assert_allclose(np.outer(*uv), k, rtol=1e-12, atol=1e-12)
    a = rng.standard_normal((40, 37))
    np.testing.assert_allclose(fastconv.correlate(a, k2, mode="same"),
                               reference.correlate(a, k2, mode="same"), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bad", [np.longdouble, object, "U3"])
def test_dtype_rejected_after_a_cached_call(rng, bad):
    # An ndarray reaches the cache lookup as it is; one of a dtype fastconv
    # cannot compute in (same shapes as a cached call) still gets its TypeError.
    if np.dtype(bad).kind == "f" and np.dtype(bad).itemsize <= 8:
        pytest.skip("longdouble is float64 on this platform")
    x, w = _arrays(rng, (1, 2, 6, 6), (3, 2, 3, 3))
    fastconv.conv2d(x, w, padding=1)
    fastconv.correlate(x[0, 0], w[0, 0], mode="same")
    with pytest.raises(TypeError, match="input has dtype"):
        fastconv.conv2d(x.astype(bad), w, padding=1)
    with pytest.raises(TypeError, match="weight has dtype"):
        fastconv.conv2d(x, w.astype(bad), padding=1)
    with pytest.raises(TypeError, match="in2 has dtype"):
        fastconv.correlate(x[0, 0], w[0, 0].astype(bad), mode="same")


def test_misaligned_and_strided_inputs_after_a_cached_call(rng):
    # Same shapes and dtype as a cached call, but a misaligned buffer, a
    # non-contiguous view, a byte-swapped array and a read-only one: the
    # same results, inputs untouched.
    x, w = _arrays(rng, (1, 2, 7, 7), (3, 2, 3, 3), np.float64)
    ref = fastconv.conv2d(x, w, padding=1)
    ref_c = fastconv.correlate(x[0, 0], w[0, 0], mode="same")
    raw = np.zeros(x.nbytes + 1, np.uint8)
    misaligned = raw[1:].view(np.float64).reshape(x.shape)
    misaligned[...] = x
    assert not misaligned.flags.aligned
    wide = np.zeros((1, 2, 7, 14))
    wide[..., ::2] = x
    swapped = x.astype(x.dtype.newbyteorder())
    readonly = x.copy()
    readonly.setflags(write=False)
    for arr in (misaligned, wide[..., ::2], swapped, readonly):
        before = arr.copy()
        np.testing.assert_array_equal(fastconv.conv2d(arr, w, padding=1), ref)
        np.testing.assert_array_equal(fastconv.correlate(arr[0, 0], w[0, 0], mode="same"),
                                      ref_c)
        np.testing.assert_array_equal(arr, before)


def test_filter_kernel_checks_its_arrays():
    # The filter kernel reads its arrays through NumPy's C API: what it
    # cannot read as it is gets a ValueError naming the argument.
    from fastconv._kernels import _filter
    x = np.ones((4, 5), np.float32)
    w = np.ones((3, 3), np.float32)
    out = np.empty((2, 3), np.float32)
    rows, cols = np.arange(4, dtype=np.int64), np.arange(5, dtype=np.int64)
    _filter.filter2d(x, w, out, rows, cols, 0, 0.0, 1, 0)
    np.testing.assert_array_equal(out, 9)
    readonly = out.copy()
    readonly.setflags(write=False)
    for args, match in [
            ((x.astype(np.float64), w, out), "w has dtype"),
            ((x[:, ::2], w, np.empty((2, 1), np.float32)), "x must be a C-contiguous"),
            ((x, w, readonly), "out is read-only"),
            ((x[None], w, out), "x must have 2 dims"),
            ((x.astype(np.int32), w, out), "float32 or float64"),
            ((x, w.astype(w.dtype.newbyteorder()), out), "native byte order")]:
        with pytest.raises(ValueError, match=match):
            _filter.filter2d(*args, rows, cols, 0, 0.0, 1, 0)
    with pytest.raises(ValueError, match="rmap has dtype"):
        _filter.filter2d(x, w, out, rows.astype(np.int32), cols, 0, 0.0, 1, 0)


@pytest.mark.parametrize("mode", ["zeros", "reflect"])
def test_out_and_allocation_share_no_check(rng, mode):
    # Whether the call allocates its result is part of the key: a call with
    # ``out`` then one without (and back) of the same shapes are both right.
    x, w = _arrays(rng, (2, 3, 9, 8), (4, 3, 3, 3), np.float64)
    ref = reference.conv2d(x, w, padding=1, padding_mode=mode)
    for _ in range(2):
        out = np.empty_like(ref)
        assert fastconv.conv2d(x, w, padding=1, padding_mode=mode, out=out) is out
        assert_conv_close(out, ref, np.float64, 27)
        assert_conv_close(fastconv.conv2d(x, w, padding=1, padding_mode=mode), ref,
                          np.float64, 27)


def test_direct_kernel_checks_its_arrays():
    # The direct convolution kernel reads its arrays through NumPy's C API too.
    from fastconv._kernels import _conv
    x = np.ones((1, 2, 1, 5, 5))
    w = np.ones((3, 2, 1, 3, 3))
    out = np.empty((1, 3, 1, 3, 3))
    geometry = ((1, 1, 1), (0, 0, 0), (1, 1, 1), 1, 1, 0)
    _conv.direct(x, w, np.arange(3.0), out, *geometry)
    np.testing.assert_array_equal(out, np.broadcast_to(18 + np.arange(3.0)[:, None, None, None],
                                                       out.shape))
    readonly = out.copy()
    readonly.setflags(write=False)
    for args, match in [
            ((x, w.astype(np.float32), None, out), "weight has dtype"),
            ((x[:, :, :, :, ::-1], w, None, out), "x must be a C-contiguous"),
            ((x, w, None, readonly), "out is read-only"),
            ((x[0], w, None, out), "x must have 5 dims"),
            ((x, w, np.ones(2), out), "bias has 2 values for 3 output channels")]:
        with pytest.raises(ValueError, match=match):
            _conv.direct(*args, *geometry)


def test_correlate_region_takes_misaligned_arrays(rng):
    # The seam that fastconv.dask and fastconv.ndimage call: arrays unpickled
    # from a buffer (a Dask worker's) may be misaligned; they are read aligned.
    from fastconv import _signal
    x, k = rng.standard_normal((9, 11)), rng.standard_normal((3, 3))

    def misaligned(a):
        raw = np.zeros(a.nbytes + 1, np.uint8)
        m = raw[1:].view(a.dtype).reshape(a.shape)
        m[...] = a
        assert not m.flags.aligned
        return m
    ref = reference.correlate(x, k, mode="valid")
    for xa, ka in ((misaligned(x), k), (x, misaligned(k))):
        got = _signal.correlate_channel(xa, ka, "valid", "fill", 0.0, "auto", None)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
