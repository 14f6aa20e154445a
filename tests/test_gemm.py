"""Tests of the packed GEMM kernel (``fastconv._kernels._gemm``).

Every ISA level this machine supports is exercised; the oracle is NumPy in
float64 (exact on integers) and a float64 / double-double simulation of the
kernel's summation for the error bound. Two kinds of data are used:
integer-valued matrices, whose products and sums are exact in float32 and
float64 alike (any indexing or packing mistake then shows as an exact
mismatch), and random normal data checked against the rounding-error bound of
the kernel's own summation (`assert_gemm_close`), a bound tight enough that a
GEMM with its inputs rounded to float16, or with one term left out, fails it
(`test_the_bound_rejects_a_degraded_gemm`).
"""
import platform
import zlib

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from conftest import SERIAL_BUILD

from fastconv._kernels import _gemm
from fastconv._kernels._openmp import OPENMP_ENABLED, openmp_max_threads

SIZES = (1, 5, 17, 97, 101, 127, 513)
# Random-data checks: every row and column block edge of the register tiles
# (the M and N blocking does not change how an element is summed, so 513 adds
# nothing to the integer tests' coverage there), K across the 256-row blocks.
RANDOM_SIZES = (1, 5, 17, 97, 101, 127)
KS = (1, 3, 576, 1001)
DTYPES = (np.float32, np.float64)
SUPPORTED = _gemm.isa_levels()


@pytest.fixture(params=SUPPORTED)
def isa(request):
    """Run the test at one supported ISA level, then restore the previous one."""
    level = request.param
    previous = _gemm.isa_get()
    _gemm.isa_set(level)
    yield level
    _gemm.isa_set(previous)


def int_matrix(rng, shape, dtype):
    """Integer values in [-4, 4]: every product and partial sum below is exact."""
    return rng.integers(-4, 5, size=shape).astype(dtype)


# --------------------------------------------------------------------------
# The error bound of the kernel's summation
#
# Every element of C is ONE chain (gemm_impl.h, fc_kernel; matmul continues
# it across its blocks of K through C):
#
#     s_0 = c0 (zero, the bias, or C when accumulating),
#     s_k = fl(a_k * b_k + s_{k-1}),   k = 1 .. K,
#
# with one rounding per step at the FMA levels, and two (the product, then
# the sum) at the generic level (SSE2 multiply then add). With unit roundoff
# u, the rounding of step k is at most u |s^_k| (sum) and u |a_k b_k|
# (product, generic only), and these errors are carried unchanged to the end,
# so, exactly and for any data (Higham, Accuracy and Stability of Numerical
# Algorithms, 2nd ed., section 3.3, running error analysis):
#
#     |s^_K - s_K| <= u * sum_k |s^_k|  [+ u * sum_k |a_k b_k|, generic]
#
# The bound is evaluated with the exact partial sums s_k of the same chain
# (|s^_k| <= |s_k| (1 + k u)^2, hence the factor (1 + 2 K u)^2 below), from
# an oracle that follows the chain in float64 (float32 data: every product is
# exact, each sum off by at most 2^-53 |s_k|) or in double-double (float64
# data). For random data this is about 10x the largest real error at K = 576
# and 1001 (sqrt(K) x the error's typical size; a worst case bound cannot
# know the signs), against about 400x for the bound used before,
# (K + 2) eps (|c0| + |a| @ |b|): that one let a GEMM whose inputs were
# rounded to float16 pass at K = 1001.
# --------------------------------------------------------------------------
_VELTKAMP = 2.0 ** 27 + 1.0


def _split(v):
    """``v = hi + lo`` with 26-bit halves: products of halves are exact in float64."""
    c = _VELTKAMP * v
    hi = c - (c - v)
    return hi, v - hi


def _two_sum(x, y):
    """``x + y = s + e`` exactly (Knuth)."""
    s = x + y
    z = s - x
    return s, (x - (s - z)) + (y - z)


def chain_oracle(a, b, c0=None):
    """Follow every element's summation chain; return what the bound needs.

    Parameters
    ----------
    a, b : ndarray
        ``(M, K)`` and ``(K, N)``, float32 or float64 (the GEMM's inputs).
    c0 : ndarray, optional
        ``(M, N)`` float64 starting values (the bias broadcast, or ``out``
        before an accumulating call).

    Returns
    -------
    expected : tuple of ndarray
        ``c0 + a @ b`` as an unevaluated float64 sum ``hi + lo``, off by at
        most ``2**-52 * path`` (float32 inputs, ``lo`` is zero) or
        ``2**-100 * (path + products)`` (float64 inputs: rounding ``hi + lo``
        to one float64 would cost half an ulp, as much as the error measured).
    path : ndarray
        ``sum_k |s_k|`` over the chain's partial sums.
    products : ndarray
        ``sum_k |a_k b_k|``.

    Notes
    -----
    float32 inputs: the products are exact in float64. float64 inputs: the
    running sum ``hi`` is a plain float64 sum and ``lo`` gathers the exact
    errors of its products (Dekker) and additions (Knuth), so ``hi + lo`` is
    as accurate as a sum in twice the precision (Ogita, Rump and Oishi's
    Dot2: off by ``u |s| + gamma_K^2 sum_k |a_k b_k|``, ``u |s|`` of which
    is ``lo``'s own rounding).
    """
    m, k = a.shape
    n = b.shape[1]
    exact_products = a.dtype == np.float32
    a, b = a.astype(np.float64), b.astype(np.float64)
    hi = np.zeros((m, n)) if c0 is None else np.array(c0, dtype=np.float64)
    lo = np.zeros((m, n))
    path = np.zeros((m, n))
    products = np.zeros((m, n))
    if not exact_products:
        (ah, al), (bh, bl) = _split(a), _split(b)
    for t in range(k):
        p = a[:, t, None] * b[None, t, :]
        products += np.abs(p)
        if exact_products:
            hi += p
        else:
            x, y = (ah[:, t, None], al[:, t, None]), (bh[None, t, :], bl[None, t, :])
            lo += ((x[0] * y[0] - p) + x[0] * y[1] + x[1] * y[0]) + x[1] * y[1]
            hi, err = _two_sum(hi, p)
            lo += err
        path += np.abs(hi)
    return (hi, lo), path, products


def chain_bound(dtype, k, path, products, fma):
    """The error bound above, elementwise (see the comment before `_split`)."""
    u = float(np.finfo(dtype).eps) / 2
    kernel = u * (path + (0.0 if fma else products)) * (1 + 2 * k * u) ** 2
    oracle = 2.0 ** -52 * path if np.dtype(dtype) == np.float32 else 2.0 ** -100 * (
        path + products)
    return kernel + oracle


def assert_within_bound(actual, expected, bound, err_msg=""):
    """``|actual - (hi + lo)| <= bound`` elementwise for ``expected = (hi, lo)``,
    naming the worst element.

    ``actual - hi`` is exact when the two are within a factor of 2 (Sterbenz),
    so the error is measured to about 2^-53 of itself.
    """
    hi, lo = expected
    err = np.abs((actual.astype(np.float64) - hi) - lo)
    expected = hi + lo
    if err.size and not np.all(err <= bound):
        worst = np.unravel_index(np.argmax(err - bound), err.shape)
        raise AssertionError(f"error {err[worst]:.3g} > bound {bound[worst]:.3g} at {worst} "
                             f"(got {actual[worst]!r}, expected {expected[worst]!r}; "
                             f"{np.mean(err > bound):.1%} of the elements over). {err_msg}")


_ORACLES = {}


def _cached_chain_oracle(a, b, c0):
    """`chain_oracle`, remembered for the same inputs (the tests at every ISA
    level draw the same data, so the oracle runs once per problem)."""
    key = tuple((x.dtype.str, x.shape, hash(x.tobytes())) if x is not None else None
                for x in (a, b, c0))
    if key not in _ORACLES:
        _ORACLES[key] = chain_oracle(a, b, c0)
    return _ORACLES[key]


def data_rng(*key):
    """A generator seeded by ``key`` only (not by the ISA level of the test)."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def assert_gemm_close(actual, a, b, c0=None, err_msg=""):
    """Check ``actual`` against ``c0 + a @ b`` and the bound of the kernel's summation."""
    a, b = np.asarray(a), np.asarray(b)
    c0 = None if c0 is None else np.ascontiguousarray(c0, dtype=np.float64)
    expected, path, products = _cached_chain_oracle(a, b, c0)
    bound = chain_bound(actual.dtype, a.shape[1], path, products, _gemm.isa_get() != "generic")
    assert_within_bound(actual, expected, bound, err_msg)


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


@pytest.mark.parametrize("level", _gemm.ISA_LEVELS)
def test_isa_set_switches_level(level):
    # The one test of a level this CPU lacks: it is reported as a skip (the
    # other tests run the supported levels only, see the `isa` fixture).
    if level not in SUPPORTED:
        pytest.skip(f"ISA level {level!r} is not supported by this CPU: its kernels are not "
                    f"run here")
    previous = _gemm.isa_get()
    try:
        assert _gemm.isa_set(level) == level
        assert _gemm.isa_get() == level
        assert _gemm.isa_set("generic") == "generic"
        assert _gemm.isa_get() == "generic"
        assert _gemm.isa_set(level) == level
        assert _gemm.isa_get() == level
    finally:
        _gemm.isa_set(previous)


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
def test_matmul_random(isa, dtype, k):
    rng = data_rng("random", k, dtype)
    size = max(RANDOM_SIZES)
    big_a = rng.standard_normal((size, k)).astype(dtype)
    big_b = rng.standard_normal((k, size)).astype(dtype)
    expected, path, products = _cached_chain_oracle(big_a, big_b, None)
    bound = chain_bound(dtype, k, path, products, isa != "generic")
    for m in RANDOM_SIZES:
        for n in RANDOM_SIZES:
            got = _gemm.matmul(big_a[:m], np.ascontiguousarray(big_b[:, :n]))
            assert got.dtype == dtype
            assert_within_bound(got, (expected[0][:m, :n], expected[1][:m, :n]), bound[:m, :n],
                                err_msg=f"M={m}, N={n}, K={k}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_resnet_shape(isa, dtype):
    # A ResNet 3x3 layer as a GEMM: several column blocks and K blocks. The
    # bound is checked on every 7th column and the last ones (the oracle's
    # cost is M * N * K Python-level steps; the columns are summed alike).
    rng = data_rng("resnet", dtype)
    a = rng.standard_normal((64, 576)).astype(dtype)
    b = rng.standard_normal((576, 3136)).astype(dtype)
    cols = np.r_[0:3136:7, 3128:3136]
    assert_gemm_close(_gemm.matmul(a, b)[:, cols], a, b[:, cols])


@pytest.mark.parametrize("k", (1, 576, 1001))
@pytest.mark.parametrize("dtype", DTYPES)
def test_the_bound_rejects_a_degraded_gemm(dtype, k):
    # What the random-data checks are for: a GEMM that computes the wrong
    # thing by a little must fail them. Inputs rounded to float16 (about 2^-11
    # relative), one term of K left out, and a float64 GEMM computed in
    # float32 are each caught by `assert_gemm_close`, while the kernel's own
    # result passes.
    rng = data_rng("degraded", k, dtype)
    a = rng.standard_normal((37, k)).astype(dtype)
    b = rng.standard_normal((k, 45)).astype(dtype)
    assert_gemm_close(_gemm.matmul(a, b), a, b)
    half = (a.astype(np.float16).astype(dtype), b.astype(np.float16).astype(dtype))
    degraded = {"inputs rounded to float16": _gemm.matmul(*half)}
    if k > 1:
        degraded["first term left out"] = _gemm.matmul(a[:, 1:], b[1:])
        degraded["last term left out"] = _gemm.matmul(a[:, :-1], b[:-1])
    else:
        degraded["the only term left out"] = np.zeros((37, 45), dtype)
    if dtype == np.float64:
        single = _gemm.matmul(a.astype(np.float32), b.astype(np.float32))
        degraded["computed in float32"] = single.astype(np.float64)
    for name, result in degraded.items():
        with pytest.raises(AssertionError, match="bound"):
            assert_gemm_close(result, a, b, err_msg=name)


@pytest.mark.parametrize("k", (1, 3, 576))
@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_bias(isa, dtype, k, rng):
    for m, n in [(1, 1), (5, 17), (97, 101), (127, 513)]:
        a = int_matrix(rng, (m, k), dtype)
        b = int_matrix(rng, (k, n), dtype)
        bias = int_matrix(rng, (m,), dtype)
        got = _gemm.matmul(a, b, bias=bias)
        expected = a.astype(np.int64) @ b.astype(np.int64) + bias.astype(np.int64)[:, None]
        np.testing.assert_array_equal(got, expected, err_msg=f"M={m}, N={n}, K={k}")

        n = min(n, 131)           # random data: see RANDOM_SIZES
        r = data_rng("bias", m, n, k, dtype)
        a = r.standard_normal((m, k)).astype(dtype)
        b = r.standard_normal((k, n)).astype(dtype)
        bias = r.standard_normal(m).astype(dtype)
        got = _gemm.matmul(a, b, bias=bias)
        assert_gemm_close(got, a, b, c0=np.broadcast_to(bias[:, None].astype(np.float64), (m, n)),
                          err_msg=f"M={m}, N={n}, K={k}")


@pytest.mark.parametrize("k", (1, 3, 576))
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

        n = min(n, 131)           # random data: see RANDOM_SIZES
        r = data_rng("accumulate", m, n, k, dtype)
        a = r.standard_normal((m, k)).astype(dtype)
        b = r.standard_normal((k, n)).astype(dtype)
        c = r.standard_normal((m, n)).astype(dtype)
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
@pytest.mark.skipif(not OPENMP_ENABLED, reason=SERIAL_BUILD)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bitwise_identical_across_thread_counts(isa, dtype, rng):
    for m, n, k in [(97, 3136, 1001), (64, 513, 576), (5, 101, 3), (127, 768, 300)]:
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


@pytest.mark.parametrize("dtype", DTYPES)
def test_edge_tiles_give_the_bits_of_full_tiles(isa, dtype, rng):
    # Tiles of fewer rows than MR, and of at most one vector of columns, run
    # kernels compiled for their size: every element must get the bits the
    # full register tile gives it (the same rows and columns computed inside
    # a full tile of a larger problem).
    mr, nr = _gemm.register_tile(dtype)
    k = 203
    a = rng.standard_normal((2 * mr, k)).astype(dtype)
    b = rng.standard_normal((k, 3 * nr)).astype(dtype)
    bias = rng.standard_normal(2 * mr).astype(dtype)
    full = np.empty((2 * mr, 3 * nr), dtype)
    _gemm.gemm_packed(_gemm.pack_a(a), _gemm.pack_b(b), k, full, bias=bias)
    for rows in range(1, mr + 1):
        for cols in sorted({1, 2, nr // 2, nr - 1, nr, nr + 1, 2 * nr + 3}):
            if cols > 3 * nr or cols < 1:
                continue
            part = np.empty((mr + rows, cols), dtype)
            _gemm.gemm_packed(_gemm.pack_a(a[:mr + rows]), _gemm.pack_b(b[:, :cols]), k, part,
                              bias=bias[:mr + rows])
            np.testing.assert_array_equal(part, full[:mr + rows, :cols],
                                          err_msg=f"{rows} edge rows, {cols} columns")
    # and through matmul (its own packing and threads) against the full tile
    y = _gemm.matmul(a[:mr + 1], b[:, :nr + 1], bias=bias[:mr + 1])
    np.testing.assert_array_equal(y, full[:mr + 1, :nr + 1])
