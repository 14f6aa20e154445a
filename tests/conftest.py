"""Shared test configuration: tolerances, array factories and fixtures.

The package is imported unconditionally here: if ``fastconv`` cannot be
imported (for instance because the compiled kernels are missing), collecting
the suite fails instead of silently skipping everything. The hooks of
tests/expected_skips.py are registered here: with ``FASTCONV_CHECK_SKIPS=1``
(CI) a skip that its list does not expect fails the run.
"""
import math
import os
import zlib

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st

import fastconv  # noqa: F401  (an import failure must fail the suite)
from expected_skips import (pytest_collectreport, pytest_runtest_logreport,  # noqa: F401
                            pytest_sessionfinish, pytest_terminal_summary)
from fastconv import reference

# --------------------------------------------------------------------------
# Tolerances, in ONE place.
#
# A convolution output is a sum of ``n_terms`` products.  Computed in a
# floating-point type with unit roundoff ``u = eps / 2`` in some summation
# order, each addition's rounding is at most u times a partial sum, and
# independent roundings add up like a random walk: the error grows like
# ``u * sqrt(n_terms)`` times the size of the partial sums (Higham and Mary,
# "A new approach to probabilistic rounding error analysis", SIAM J. Sci.
# Comput. 41, 2019), which for random data stay below ``max|y|``. So
#
#     |actual - expected| <= C * eps * sqrt(n_terms) * max(1, max|expected|)
#
# for every element (a worst-case bound, (n_terms + 1) u sum|products|, is
# what the GEMM's tests use: tests/test_gemm.py; here the summation order
# differs between the algorithms). C is measured: over every comparison of
# the suite (5583 of them: every algorithm, both dtypes, the grids, the
# layers and the hypothesis-drawn problems), the largest error was
# 0.78 eps * sqrt(n_terms) * max(1, max|expected|) (float64; 0.50 in
# float32), so C = 3 leaves a margin of 3.8. Winograd, whose transforms add
# values of the size of the inputs, is checked with 16x the terms (4x the
# tolerance). The previous tolerance, 8 eps sqrt(n) max|y| plus
# 2e-5 |y| (float32) or 1e-12 |y| (float64), was 5-13x (float32) and up to
# 300x (float64) looser; tests/test_tolerance.py shows that this one rejects
# a result with a term left out or the inputs rounded to float16 (float32)
# or float32 (float64).
# --------------------------------------------------------------------------
TOL_C = 3.0

FLOAT_DTYPES = (np.float32, np.float64)


def tolerance(dtype, n_terms, scale):
    """The tolerance above: absolute, for a result of ``dtype`` summing ``n_terms``
    products whose largest value is ``scale``."""
    eps = float(np.finfo(dtype).eps)
    return TOL_C * eps * math.sqrt(max(int(n_terms), 1)) * max(1.0, float(scale))


def assert_conv_close(actual, expected, dtype, n_terms, err_msg=""):
    """Assert that a fastconv result matches the float64 reference.

    Parameters
    ----------
    actual : numpy.ndarray
        fastconv's result; its dtype must be ``dtype``.
    expected : numpy.ndarray
        The reference result (float64).
    dtype : numpy dtype
        The computation dtype (float32 or float64).
    n_terms : int
        Number of products summed per output element (``C_in // groups *
        prod(kernel)``, plus one for a bias).
    err_msg : str
        Extra context printed on failure.

    NaN must appear exactly where the reference has NaN, infinities exactly
    where the reference has infinities of the same sign; finite values are
    compared with the dtype's tolerance.
    """
    dtype = np.dtype(dtype)
    assert isinstance(actual, np.ndarray), f"result is {type(actual).__name__}, not ndarray"
    assert actual.dtype == dtype, f"result dtype {actual.dtype}, expected {dtype}. {err_msg}"
    assert actual.shape == expected.shape, (
        f"result shape {actual.shape}, expected {expected.shape}. {err_msg}")
    exp_nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(actual), exp_nan,
                                  err_msg=f"NaN positions differ. {err_msg}")
    exp_inf = np.isinf(expected)
    np.testing.assert_array_equal(np.isinf(actual), exp_inf,
                                  err_msg=f"Inf positions differ. {err_msg}")
    np.testing.assert_array_equal(np.sign(actual[exp_inf]), np.sign(expected[exp_inf]),
                                  err_msg=f"signs of Inf differ. {err_msg}")
    finite = np.isfinite(expected)
    exp_f = expected[finite]
    act_f = actual[finite].astype(np.float64)
    scale = float(np.max(np.abs(exp_f))) if exp_f.size else 0.0
    np.testing.assert_allclose(act_f, exp_f, rtol=0, atol=tolerance(dtype, n_terms, scale),
                               err_msg=f"dtype={dtype}, n_terms={n_terms}. {err_msg}")


def n_terms_of(weight, bias=None):
    """Products summed per output element for a weight ``(C_out, C_in/g, *k)``
    and a bias (an array of ``C_out`` values, or None)."""
    if bias is not None and np.shape(bias) != weight.shape[:1]:
        raise TypeError(f"bias must be None or of shape {weight.shape[:1]}, got {bias!r}")
    return int(np.prod(weight.shape[1:])) + (0 if bias is None else 1)


def make_array(rng, shape, dtype):
    """Random test data of ``dtype``: normal floats, small ints, random bools."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind in "iu":
        return rng.integers(-3, 4, size=shape).astype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    raise TypeError(f"no test data for dtype {dtype}")


@pytest.fixture
def rng(request):
    """A random generator seeded from the test's node id (reproducible per test)."""
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)


@pytest.fixture
def level_guard():
    """Restore the SIMD level in use after the test (which may call ``isa_set``)."""
    from fastconv._kernels import _gemm

    previous = _gemm.isa_get()
    yield
    _gemm.isa_set(previous)


@pytest.fixture
def restore_threads():
    """Reset fastconv's thread setting to the default after the test."""
    yield
    fastconv.set_num_threads(None)


#: The skip reason of every test that compares results under 1 and N threads:
#: in a build without OpenMP they could not differ, so the comparison would
#: pass without testing anything. Not an expected skip (tests/expected_skips.txt):
#: CI's skip check fails on a serial build.
SERIAL_BUILD = "built without OpenMP: results under 1 and N threads cannot differ"


@pytest.fixture
def threads():
    """For tests that compare thread counts: skip in a serial build, and reset
    fastconv's thread setting to the default after the test."""
    if not fastconv.get_config()["openmp"]:
        pytest.skip(SERIAL_BUILD)
    yield
    fastconv.set_num_threads(None)


# --------------------------------------------------------------------------
# Hypothesis profiles (tests that set no example count of their own, such as
# tests/test_fuzz.py): a fixed budget in CI, a long fuzzing run on demand with
# `pytest --hypothesis-profile=fastconv-fuzz` (or FASTCONV_HYPOTHESIS_PROFILE).
# --------------------------------------------------------------------------
settings.register_profile("fastconv-ci", max_examples=20, deadline=None)
settings.register_profile("fastconv-fuzz", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("FASTCONV_HYPOTHESIS_PROFILE", "fastconv-ci"))


# --------------------------------------------------------------------------
# Hypothesis: random valid convolution problems
# --------------------------------------------------------------------------
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def geometry_is_valid(size, pads, kernel, dilation, padding_mode):
    """Whether one spatial dim of a problem is acceptable (PyTorch's rules)."""
    before, after = pads
    if size + before + after < (kernel - 1) * dilation + 1:
        return False
    if padding_mode == "reflect":
        return max(before, after) < size
    if padding_mode == "circular":
        return max(before, after) <= size
    return size > 0


@st.composite
def conv_problems(draw, max_size=12, max_size_3d=6, max_per_group=4, max_groups=4,
                  max_kernel=4, max_batch=3):
    """Draw a valid problem: a dict of shapes and ``conv*d`` keyword arguments.

    Sizes are grown, when needed, until the padded input holds the dilated
    kernel and the padding mode's limits are respected.
    """
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, max_groups))
    c_in = groups * draw(st.integers(1, max_per_group))
    c_out = groups * draw(st.integers(1, max_per_group))
    kernel = tuple(draw(st.integers(1, max_kernel)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    padding_mode = draw(st.sampled_from(PADDING_MODES))
    form = draw(st.sampled_from(["int", "per-dim", "pairs", "valid", "same"]))
    if form == "int":
        padding = draw(st.integers(0, 3))
    elif form == "per-dim":
        padding = tuple(draw(st.integers(0, 3)) for _ in range(nd))
    elif form == "pairs":
        padding = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(nd))
    else:
        padding = form
    top = max_size if nd < 3 else max_size_3d
    spatial = []
    for dim in range(nd):
        size = draw(st.integers(1, top))
        while True:
            probe = (size,) * nd
            pads = reference.resolve_padding(padding, probe, kernel, stride, dilation)[dim]
            if geometry_is_valid(size, pads, kernel[dim], dilation[dim], padding_mode):
                break
            size += 1
        spatial.append(size)
    batch = draw(st.one_of(st.none(), st.integers(0, max_batch)))  # None: unbatched
    return dict(nd=nd, batch=batch, c_in=c_in, c_out=c_out, spatial=tuple(spatial),
                kernel=kernel, bias=draw(st.booleans()),
                kwargs=dict(stride=stride, padding=padding, dilation=dilation,
                            groups=groups, padding_mode=padding_mode))


def pytest_configure(config):
    """Register the markers of SciPy's test modules that test_scipy_acceptance runs."""
    for marker in ("slow", "xslow", "xfail_on_32bit(reason)", "array_api_backends",
                   "skip_xp_backends(backend=None, reason=None, np_only=False, cpu_only=False,"
                   " eager_only=False, exceptions=None)",
                   "xfail_xp_backends(backend=None, reason=None, np_only=False, cpu_only=False,"
                   " eager_only=False, exceptions=None)",
                   "fail_slow(duration)", "thread_unsafe", "parallel_threads_limit(n)",
                   "iterations(n)", "timeout(seconds)"):
        config.addinivalue_line("markers", f"{marker}: used by SciPy's own test modules")
