"""Tests of the packed GEMM kernel (``fastconv._kernels._gemm``).

Every ISA level this machine supports is exercised; the oracle is NumPy in
float64. Two kinds of data are used: integer-valued matrices, whose products
and sums are exact in float32 and float64 alike (any indexing or packing
mistake then shows as an exact mismatch), and random normal data checked
against the rigorous rounding-error bound of a dot product.
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from fastconv._kernels import _gemm
from fastconv._kernels._openmp import OPENMP_ENABLED, openmp_max_threads

SIZES = (1, 5, 17, 97, 101, 127, 513)
KS = (1, 3, 576, 1001)
DTYPES = (np.float32, np.float64)


@pytest.fixture(params=_gemm.ISA_LEVELS)
def isa(request):
    """Run the test at one ISA level (skipped if unsupported), then restore."""
    level = request.param
    if level not in _gemm.isa_levels():
        pytest.skip(f"ISA level {level!r} is not supported on this machine")
    previous = _gemm.isa_get()
    _gemm.isa_set(level)
    yield level
    _gemm.isa_set(previous)


def int_matrix(rng, shape, dtype):
    """Integer values in [-4, 4]: every product and partial sum below is exact."""
    return rng.integers(-4, 5, size=shape).astype(dtype)


def oracle(a, b, c0=None):
    """Return ``c0 + a @ b`` and ``|c0| + |a| @ |b|``, both in float64."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    expected = a64 @ b64
    magnitude = np.abs(a64) @ np.abs(b64)
    if c0 is not None:
        expected = expected + c0
        magnitude = magnitude + np.abs(c0)
    return expected, magnitude


def assert_within_bound(actual, expected, magnitude, k, err_msg=""):
    """Check ``actual`` against the rounding-error bound of a dot product.

    Summing k products onto an initial value in floating point with unit
    roundoff u is off by at most about (k + 1) u (|c0| + |a| @ |b|); the bound
    used is twice that.
    """
    bound = (k + 2) * float(np.finfo(actual.dtype).eps) * magnitude
    err = np.abs(actual.astype(np.float64) - expected)
    if err.size and not np.all(err <= bound):
        worst = np.unravel_index(np.argmax(err - bound), err.shape)
        raise AssertionError(f"error {err[worst]:.3g} > bound {bound[worst]:.3g} at {worst} "
                             f"(got {actual[worst]!r}, expected {expected[worst]!r}). {err_msg}")


def assert_gemm_close(actual, a, b, c0=None, err_msg=""):
    """Check ``actual`` against ``c0 + a @ b`` (see `assert_within_bound`)."""
    expected, magnitude = oracle(a, b, c0)
    assert_within_bound(actual, expected, magnitude, a.shape[1], err_msg)


# --------------------------------------------------------------------------
# ISA levels
# --------------------------------------------------------------------------
# The detected level against the CPU's flags: test_simd_levels.py.


def test_isa_set_refuses_unsupported_levels():
    before = _gemm.isa_get()
    unsupported = [name for name in _gemm.ISA_LEVELS if name not in _gemm.isa_levels()]
    for name in unsupported:
        with pytest.raises(ValueError, match=f"'{name}' is not supported") as info:
            _gemm.isa_set(name)
        assert "generic" in str(info.value)  # the message lists the supported levels
        assert _gemm.isa_get() == before
    for bad in ("sse", "AVX2", "", None, 1):
        with pytest.raises(ValueError, match="unknown ISA level"):
            _gemm.isa_set(bad)
        assert _gemm.isa_get() == before


def test_isa_set_switches_level(isa):
    assert _gemm.isa_get() == isa
    assert _gemm.isa_set("generic") == "generic"
    assert _gemm.isa_get() == "generic"
    assert _gemm.isa_set(isa) == isa
    assert _gemm.isa_get() == isa


def test_avx512_refused_without_cpu_support():
    if "avx512" in _gemm.isa_levels():
        pytest.skip("this machine supports AVX-512")
    with pytest.raises(ValueError, match="not supported"):
        _gemm.isa_set("avx512")


# --------------------------------------------------------------------------
# Packed layouts (the implicit im2col writes packed B itself)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_pack_b_layout(isa, dtype, rng):
    mr, nr = _gemm.register_tile(dtype)
    assert mr >= 1 and nr >= 1
    for k, n in [(1, 1), (3, 5), (7, nr), (5, nr + 1), (17, 3 * nr - 1), (4, 97)]:
        b = rng.standard_normal((k, n)).astype(dtype)
        panels = -(-n // nr)
        padded = np.zeros((k, panels * nr), dtype)
        padded[:, :n] = b
        # panel p, row k, column j  <-  b[k, p * nr + j]
        expected = padded.reshape(k, panels, nr).transpose(1, 0, 2).ravel()
        packed = _gemm.pack_b(b)
        assert packed.dtype == dtype
        np.testing.assert_array_equal(packed, expected, err_msg=f"K={k}, N={n}, NR={nr}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_pack_a_layout(isa, dtype, rng):
    mr, nr = _gemm.register_tile(dtype)
    for m, k in [(1, 1), (5, 3), (mr, 7), (mr + 1, 5), (3 * mr - 1, 17), (97, 4)]:
        a = rng.standard_normal((m, k)).astype(dtype)
        panels = -(-m // mr)
        padded = np.zeros((panels * mr, k), dtype)
        padded[:m] = a
        # panel p, column k, row r  <-  a[p * mr + r, k]
        expected = padded.reshape(panels, mr, k).transpose(0, 2, 1).ravel()
        np.testing.assert_array_equal(_gemm.pack_a(a), expected,
                                      err_msg=f"M={m}, K={k}, MR={mr}")


def test_pack_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        _gemm.pack_b(np.ones(3, np.float32))
    with pytest.raises(TypeError, match="float32 or float64"):
        _gemm.pack_a(np.ones((2, 2), np.int32))
    with pytest.raises(TypeError, match="float32 or float64"):
        _gemm.register_tile(np.complex64)


# --------------------------------------------------------------------------
# The packed kernel called directly, one call per block as the convolution does
# --------------------------------------------------------------------------
@pytest.mark.parametrize("k", (0,) + KS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_single_call(isa, dtype, k, rng):
    big_a = int_matrix(rng, (max(SIZES), k), dtype)
    big_b = int_matrix(rng, (k, max(SIZES)), dtype)
    full = big_a.astype(np.float64) @ big_b.astype(np.float64)  # exact: small integers
    bias = int_matrix(rng, (max(SIZES),), dtype)
    for m in (1, 5, 17, 101, 513):
        ap = _gemm.pack_a(big_a[:m])
        for n in (1, 5, 17, 127, 513):
            bp = _gemm.pack_b(big_b[:, :n])
            out = np.full((m, n), np.nan, dtype)
            _gemm.gemm_packed(ap, bp, k, out)
            np.testing.assert_array_equal(out, full[:m, :n], err_msg=f"M={m}, N={n}, K={k}")
            _gemm.gemm_packed(ap, bp, k, out, bias=bias[:m])
            np.testing.assert_array_equal(out, full[:m, :n] + bias[:m, None],
                                          err_msg=f"bias, M={m}, N={n}, K={k}")
            # accumulate adds to out and ignores the bias
            _gemm.gemm_packed(ap, bp, k, out, bias=bias[:m], accumulate=True)
            np.testing.assert_array_equal(out, 2 * full[:m, :n] + bias[:m, None],
                                          err_msg=f"accumulate, M={m}, N={n}, K={k}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_row_stride(isa, dtype, rng):
    # C may be a column block of a wider matrix (ldc > N); nothing else is touched.
    m, n, k = 29, 37, 45
    a = int_matrix(rng, (m, k), dtype)
    b = int_matrix(rng, (k, n), dtype)
    wide = np.full((m, n + 11), -7.0, dtype)
    _gemm.gemm_packed(_gemm.pack_a(a), _gemm.pack_b(b), k, wide[:, 5:5 + n])
    np.testing.assert_array_equal(wide[:, 5:5 + n], a.astype(np.float64) @ b)
    np.testing.assert_array_equal(wide[:, :5], -7.0)
    np.testing.assert_array_equal(wide[:, 5 + n:], -7.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_split_is_bitwise_invariant(isa, dtype, rng):
    # The summation order of each element is fixed: computing C in blocks of
    # rows (at MR boundaries), of columns (at NR boundaries) or of K (each
    # block continuing the previous one with accumulate) gives the same bits.
    mr, nr = _gemm.register_tile(dtype)
    m, n, k = 4 * mr + 3, 5 * nr + 2, 611
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    bias = rng.standard_normal(m).astype(dtype)
    ap, bp = _gemm.pack_a(a), _gemm.pack_b(b)
    whole = np.empty((m, n), dtype)
    _gemm.gemm_packed(ap, bp, k, whole, bias=bias)

    blocks = np.empty((m, n), dtype)
    for i0, i1 in ((0, mr), (mr, 3 * mr), (3 * mr, m)):
        for j0, j1 in ((0, 2 * nr), (2 * nr, 3 * nr), (3 * nr, n)):
            _gemm.gemm_packed(ap[i0 * k:], bp[j0 * k:], k, blocks[i0:i1, j0:j1],
                              bias=bias[i0:i1])
    np.testing.assert_array_equal(blocks, whole)

    chained = np.empty((m, n), dtype)
    for step, (k0, k1) in enumerate(((0, 1), (1, 100), (100, 357), (357, k))):
        _gemm.gemm_packed(_gemm.pack_a(a[:, k0:k1]), _gemm.pack_b(b[k0:k1]), k1 - k0,
                          chained, bias=bias, accumulate=step > 0)
    np.testing.assert_array_equal(chained, whole)
    assert_gemm_close(whole, a, b, c0=np.broadcast_to(bias[:, None].astype(np.float64), (m, n)))


def test_gemm_packed_errors():
    a, b = np.ones((5, 3)), np.ones((3, 7))
    ap, bp = _gemm.pack_a(a), _gemm.pack_b(b)
    out = np.empty((5, 7))
    with pytest.raises(ValueError, match="ap holds"):
        _gemm.gemm_packed(ap[:-1], bp, 3, out)
    with pytest.raises(ValueError, match="bp holds"):
        _gemm.gemm_packed(ap, bp[:-1], 3, out)
    with pytest.raises(TypeError, match="ap must have the dtype"):
        _gemm.gemm_packed(ap.astype(np.float32), bp, 3, out)
    with pytest.raises(ValueError, match="contiguous"):
        _gemm.gemm_packed(ap, bp, 3, np.empty((7, 5)).T)
    buf = np.zeros(bp.size + 40)
    buf[10:10 + bp.size] = bp
    with pytest.raises(ValueError, match="out overlaps bp"):
        _gemm.gemm_packed(ap, buf[10:10 + bp.size], 3, buf[:35].reshape(5, 7))
    with pytest.raises(ValueError, match="k must be >= 0"):
        _gemm.gemm_packed(ap, bp, -1, out)


# --------------------------------------------------------------------------
# matmul against the float64 oracle
# --------------------------------------------------------------------------
@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_exact_on_integers(isa, dtype, k, rng):
    big_a = int_matrix(rng, (max(SIZES), k), dtype)
    big_b = int_matrix(rng, (k, max(SIZES)), dtype)
    full = big_a.astype(np.float64) @ big_b.astype(np.float64)  # exact: small integers
    for m in SIZES:
        for n in SIZES:
            a, b = big_a[:m], np.ascontiguousarray(big_b[:, :n])
            got = _gemm.matmul(a, b)
            assert got.dtype == dtype and got.shape == (m, n)
            np.testing.assert_array_equal(got, full[:m, :n], err_msg=f"M={m}, N={n}, K={k}")


@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_random(isa, dtype, k, rng):
    big_a = rng.standard_normal((max(SIZES), k)).astype(dtype)
    big_b = rng.standard_normal((k, max(SIZES))).astype(dtype)
    expected, magnitude = oracle(big_a, big_b)
    for m in SIZES:
        for n in SIZES:
            got = _gemm.matmul(big_a[:m], np.ascontiguousarray(big_b[:, :n]))
            assert got.dtype == dtype
            assert_within_bound(got, expected[:m, :n], magnitude[:m, :n], k,
                                err_msg=f"M={m}, N={n}, K={k}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_resnet_shape(isa, dtype, rng):
    # A ResNet 3x3 layer as a GEMM: several column blocks and K blocks.
    a = rng.standard_normal((64, 576)).astype(dtype)
    b = rng.standard_normal((576, 3136)).astype(dtype)
    assert_gemm_close(_gemm.matmul(a, b), a, b)


@pytest.mark.parametrize("k", (1, 3, 576, 1001))
@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_bias(isa, dtype, k, rng):
    for m, n in [(1, 1), (5, 17), (97, 101), (127, 513)]:
        a = int_matrix(rng, (m, k), dtype)
        b = int_matrix(rng, (k, n), dtype)
        bias = int_matrix(rng, (m,), dtype)
        got = _gemm.matmul(a, b, bias=bias)
        expected = a.astype(np.int64) @ b.astype(np.int64) + bias.astype(np.int64)[:, None]
        np.testing.assert_array_equal(got, expected, err_msg=f"M={m}, N={n}, K={k}")

        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        bias = rng.standard_normal(m).astype(dtype)
        got = _gemm.matmul(a, b, bias=bias)
        assert_gemm_close(got, a, b, c0=np.broadcast_to(bias[:, None].astype(np.float64), (m, n)),
                          err_msg=f"M={m}, N={n}, K={k}")


@pytest.mark.parametrize("k", (1, 3, 576, 1001))
@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_accumulate(isa, dtype, k, rng):
    for m, n in [(1, 1), (5, 17), (97, 101), (127, 513)]:
        a = int_matrix(rng, (m, k), dtype)
        b = int_matrix(rng, (k, n), dtype)
        c = int_matrix(rng, (m, n), dtype)
        out = c.copy()
        assert _gemm.matmul(a, b, out, accumulate=True) is out
        expected = c.astype(np.int64) + a.astype(np.int64) @ b.astype(np.int64)
        np.testing.assert_array_equal(out, expected, err_msg=f"M={m}, N={n}, K={k}")

        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        c = rng.standard_normal((m, n)).astype(dtype)
        out = c.copy()
        _gemm.matmul(a, b, out, accumulate=True)
        assert_gemm_close(out, a, b, c0=c.astype(np.float64), err_msg=f"M={m}, N={n}, K={k}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_accumulate_continues_the_summation(isa, dtype, rng):
    # The accumulator chain of each element starts from C when accumulating,
    # so splitting K at a block boundary (matmul packs K in blocks of 256)
    # reproduces the single product bit for bit.
    m, n, k, split = 37, 203, 700, 256
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    bias = rng.standard_normal(m).astype(dtype)
    whole = _gemm.matmul(a, b, bias=bias)
    parts = _gemm.matmul(a[:, :split], b[:split], bias=bias)
    _gemm.matmul(a[:, split:], b[split:], parts, accumulate=True)
    np.testing.assert_array_equal(parts, whole)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_any_layout(isa, dtype, rng):
    m, n, k = 23, 45, 67
    a = int_matrix(rng, (k, m), dtype).T                       # Fortran order
    b = int_matrix(rng, (2 * k, n), dtype)[::-2]               # negative stride
    b.flags.writeable = False
    expected = a.astype(np.int64) @ b.astype(np.int64)
    np.testing.assert_array_equal(_gemm.matmul(a, b), expected)
    assert b.flags.writeable is False


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_into_out(isa, dtype, rng):
    a = int_matrix(rng, (9, 31), dtype)
    b = int_matrix(rng, (31, 40), dtype)
    out = np.full((9, 40), np.nan, dtype)
    assert _gemm.matmul(a, b, out) is out
    np.testing.assert_array_equal(out, a.astype(np.int64) @ b.astype(np.int64))


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_empty_and_k0(isa, dtype, rng):
    assert _gemm.matmul(np.ones((0, 4), dtype), np.ones((4, 3), dtype)).shape == (0, 3)
    assert _gemm.matmul(np.ones((2, 4), dtype), np.ones((4, 0), dtype)).shape == (2, 0)
    a, b = np.ones((3, 0), dtype), np.ones((0, 5), dtype)
    np.testing.assert_array_equal(_gemm.matmul(a, b), np.zeros((3, 5)))
    bias = np.array([1.5, -2.0, 0.25], dtype)
    np.testing.assert_array_equal(_gemm.matmul(a, b, bias=bias),
                                  np.repeat(bias[:, None], 5, axis=1))
    c = rng.standard_normal((3, 5)).astype(dtype)
    out = c.copy()
    _gemm.matmul(a, b, out, accumulate=True)
    np.testing.assert_array_equal(out, c)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_nan_inf_propagate(isa, dtype, rng):
    m, n, k = 13, 37, 50
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    a[3, 7] = np.nan
    b[11, 20] = np.inf
    got = _gemm.matmul(a, b)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(expected))
    assert np.isnan(got[3]).all()
    # Elsewhere the values are those of the product without the NaN and Inf.
    finite = np.isfinite(expected)
    a0 = np.where(np.isnan(a), 0, a).astype(dtype)
    b0 = np.where(np.isinf(b), 0, b).astype(dtype)
    assert_gemm_close(np.where(finite, got, _gemm.matmul(a0, b0)), a0, b0)


# --------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------
@pytest.mark.skipif(not OPENMP_ENABLED, reason="built without OpenMP")
@pytest.mark.parametrize("dtype", DTYPES)
def test_bitwise_identical_across_thread_counts(isa, dtype, rng):
    for m, n, k in [(97, 3136, 1001), (64, 513, 576), (5, 101, 3)]:
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        bias = rng.standard_normal(m).astype(dtype)
        results = []
        for threads in (1, 2, 3):
            with threadpool_limits(threads, user_api="openmp"):
                assert openmp_max_threads() == threads
                results.append(_gemm.matmul(a, b, bias=bias))
        for threads, res in zip((2, 3), results[1:]):
            np.testing.assert_array_equal(res, results[0],
                                          err_msg=f"{threads} threads vs 1, M={m} N={n} K={k}")


# --------------------------------------------------------------------------
# Argument checking
# --------------------------------------------------------------------------
def test_matmul_errors():
    f4, f8 = np.ones((3, 4), np.float32), np.ones((4, 5), np.float32)
    with pytest.raises(ValueError, match="2-D"):
        _gemm.matmul(np.ones(4, np.float32), f8)
    with pytest.raises(ValueError, match=r"b.shape\[0\] must be 4"):
        _gemm.matmul(f4, np.ones((3, 5), np.float32))
    with pytest.raises(TypeError, match="same dtype"):
        _gemm.matmul(f4, f8.astype(np.float64))
    with pytest.raises(TypeError, match="float32 or float64"):
        _gemm.matmul(f4.astype(np.int64), f8.astype(np.int64))
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\)"):
        _gemm.matmul(f4, f8, bias=np.ones(5, np.float32))
    with pytest.raises(TypeError, match="bias must have the dtype"):
        _gemm.matmul(f4, f8, bias=np.ones(3))
    with pytest.raises(ValueError, match=r"out must have shape \(3, 5\)"):
        _gemm.matmul(f4, f8, np.empty((5, 3), np.float32))
    with pytest.raises(ValueError, match="out must have dtype float32"):
        _gemm.matmul(f4, f8, np.empty((3, 5), np.float64))
    with pytest.raises(ValueError, match="C-contiguous"):
        _gemm.matmul(f4, f8, np.empty((5, 3), np.float32).T)
    readonly = np.empty((3, 5), np.float32)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        _gemm.matmul(f4, f8, readonly)
    with pytest.raises(ValueError, match="accumulate=True needs out"):
        _gemm.matmul(f4, f8, accumulate=True)
    with pytest.raises(ValueError, match="bias cannot be combined"):
        _gemm.matmul(f4, f8, np.empty((3, 5), np.float32), bias=np.ones(3, np.float32),
                     accumulate=True)
    square = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match="out overlaps a"):
        _gemm.matmul(square, square.copy(), square)
    with pytest.raises(ValueError, match="out overlaps b"):
        _gemm.matmul(square.copy(), square, square)
