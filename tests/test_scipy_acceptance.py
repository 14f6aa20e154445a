"""SciPy's own tests, run against fastconv.signal and fastconv.ndimage.

The installed SciPy's test modules are executed afresh (their module objects
are private to this file, SciPy's own stay untouched) with fastconv swapped
in:

* ``scipy/signal/tests/test_signaltools.py``: ``correlate``, ``convolve``,
  ``correlate2d``, ``convolve2d``, ``fftconvolve``, ``oaconvolve`` and
  ``choose_conv_method`` rebound to :mod:`fastconv.signal`, and its
  ``signal`` name to a proxy serving :mod:`fastconv.signal` first; the
  convolution and correlation test classes and functions are collected here.
* ``scipy/ndimage/tests/test_filters.py``: its ``ndimage`` name replaced by a
  proxy serving :mod:`fastconv.ndimage`, falling back to ``scipy.ndimage``
  for the functions fastconv does not provide; every test is collected.

Each collected test passes, or is listed in :data:`KNOWN` with the reason it
cannot; a listed test is a strict xfail (it must fail; a pass is reported as
an error, so the list cannot go stale).

By default (the CI budget) the module runs the tests that call fastconv's
functions and are cheap: every convolution/correlation class of
test_signaltools but ``TestFFTConvolve`` and ``TestOAConvolve`` and
``TestConvolve2d::test_large_array``, and the tests of test_filters whose
names name one of fastconv.ndimage's filters (:data:`NDIMAGE_NAMES`; the
others exercise SciPy's own functions through the fallback).
``FASTCONV_SCIPY_ALL=1`` runs everything (about 14 000 cases, several
minutes, ``test_large_array`` needing 6 GiB).
"""
import contextlib
import importlib.util
import os
import sys
import types

import numpy as np
import pytest

scipy = pytest.importorskip("scipy")
pytest.importorskip("scipy.signal")
pytest.importorskip("scipy.ndimage")

import fastconv.signal  # noqa: E402
import fastconv.ndimage  # noqa: E402

_ALL = os.environ.get("FASTCONV_SCIPY_ALL", "0") == "1"
_BIGMEM_OFF = os.environ.get("FASTCONV_SKIP_BIGMEM", "0") == "1"


def _mem_available():
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class _Proxy(types.ModuleType):
    """A module that serves ``first``'s public names, then ``fallback``'s."""

    def __init__(self, name, first, fallback):
        super().__init__(name)
        self._first, self._fallback = first, fallback

    def __getattr__(self, name):
        if name in getattr(self._first, "__all__", ()):
            return getattr(self._first, name)
        return getattr(self._fallback, name)


@contextlib.contextmanager
def _swapped_in():
    """While SciPy's test modules execute, ``from scipy import ndimage, signal``
    and ``from scipy.signal import correlate, ...`` yield fastconv's (so that
    the tests' parametrisations, taken at import, list fastconv's functions
    too); SciPy's capability table learns fastconv's functions. Everything is
    restored afterwards."""
    from scipy._lib._array_api import xp_capabilities_table
    saved = {}

    def put(obj, name, value):
        saved[(obj, name)] = obj.__dict__.get(name, _MISSING)
        setattr(obj, name, value)

    real_signal, real_ndimage = sys.modules["scipy.signal"], sys.modules["scipy.ndimage"]
    try:
        put(scipy, "ndimage", _Proxy("ndimage", fastconv.ndimage, real_ndimage))
        put(scipy, "signal", _Proxy("signal", fastconv.signal, real_signal))
        for ours, theirs in ((fastconv.signal, real_signal), (fastconv.ndimage, real_ndimage)):
            for name in ours.__all__:
                original = getattr(theirs, name)
                if original in xp_capabilities_table:
                    xp_capabilities_table.setdefault(getattr(ours, name),
                                                     xp_capabilities_table[original])
                if theirs is real_signal:
                    put(theirs, name, getattr(ours, name))
        yield
    finally:
        for (obj, name), value in saved.items():
            if value is _MISSING:
                delattr(obj, name)
            else:
                setattr(obj, name, value)


_MISSING = object()


def _load(package, filename, alias):
    """Execute SciPy's test module ``package/filename`` as a new module ``alias``,
    fastconv swapped in (:func:`_swapped_in`)."""
    spec = importlib.util.find_spec(package)
    path = os.path.join(os.path.dirname(spec.origin), filename)
    if not os.path.exists(path):
        pytest.skip(f"SciPy's {package}.{filename[:-3]} is not installed",
                    allow_module_level=True)
    with open(path, encoding="utf-8") as f:
        source = f.read()
    module = types.ModuleType(alias)
    module.__file__ = path
    module.__package__ = package          # its relative imports resolve in SciPy
    sys.modules[alias] = module
    with _swapped_in():
        exec(compile(source, path, "exec"), module.__dict__)
    return module


_signal_tests = _load("scipy.signal.tests", "test_signaltools.py",
                      "fastconv_scipy_test_signaltools")
_ndimage_tests = _load("scipy.ndimage.tests", "test_filters.py", "fastconv_scipy_test_filters")
assert _signal_tests.correlate is fastconv.signal.correlate
assert isinstance(_ndimage_tests.ndimage, _Proxy)

#: The convolution and correlation tests of test_signaltools.
SIGNAL_CLASSES = ("TestConvolve", "TestConvolve2d", "TestFFTConvolve", "TestAllFreqConvolves",
                  "TestCorrelateReal", "TestCorrelate", "TestCorrelateComplex",
                  "TestCorrelate2d") + (("TestOAConvolve",) if _ALL else ())
SIGNAL_FUNCTIONS = ("test_choose_conv_method", "test_choose_conv_method_2",
                    "test_convolve_longdtype_input", "test_correlation_lags")


def _collect(module, prefix, classes=None, functions=None):
    """Bring the module's test classes and functions into this module's
    namespace: class ``TestX`` as a subclass ``Test<prefix>X``, function
    ``test_x`` as ``test_x_<prefix>``."""
    for name, obj in vars(module).items():
        if isinstance(obj, type) and name.startswith("Test"):
            if classes is None or name in classes:
                new = f"Test{prefix}{name[4:]}"
                globals()[new] = type(new, (obj,), {})
        elif callable(obj) and name.startswith("test_"):
            if functions is None or name in functions:
                globals()[f"{name}_{prefix.lower()}"] = obj


_collect(_signal_tests, "Signal", SIGNAL_CLASSES, SIGNAL_FUNCTIONS)
_collect(_ndimage_tests, "Ndimage")

#: Tests that cannot pass, with the reason: a prefix of the test's name
#: (after this file's ``::``) -> reason.
KNOWN = {
    "test_convolve_longdtype_input_signal": (
        "extended precision (longdouble, clongdouble): fastconv computes in float32 and "
        "float64 and raises TypeError"),
}
#: Without FASTCONV_SCIPY_ALL=1: the tests (name prefixes) left out, and the
#: words one of which a test_filters test's name must contain to run.
HEAVY = ("TestSignalFFTConvolve", "TestSignalConvolve2d::test_large_array")
NDIMAGE_NAMES = ("correlate", "convolve", "gauss", "uniform", "sobel", "prewitt", "laplace",
                 "gradient_magnitude", "origin", "modes", "gh_")
OPT_IN = "SciPy's full test modules run with FASTCONV_SCIPY_ALL=1 (CI runs the cheap subset)"

#: Tests that need more memory than the tests may take (FASTCONV_SKIP_BIGMEM),
#: with the bytes they need.
BIGMEM = {
    "TestSignalConvolve2d::test_large_array": 6 << 30,
}


@pytest.fixture(params=[np], ids=["numpy"])
def xp(request):
    """SciPy's array-namespace fixture, NumPy only (fastconv takes NumPy arrays)."""
    from scipy._lib._array_api import array_namespace
    return array_namespace(np.empty(0))


@pytest.fixture
def num_parallel_threads():
    """SciPy's fixture for pytest-run-parallel: one thread here."""
    return 1


@pytest.fixture(autouse=True)
def _known(request):
    """Apply :data:`KNOWN` (strict xfail) and :data:`BIGMEM` (skip) to each test."""
    nodeid = request.node.nodeid.split("::", 1)[-1]
    if not _ALL:
        ndimage_test = "Ndimage" in nodeid.split("::")[0] or nodeid.split("[")[0].endswith(
            "_ndimage")
        if (any(nodeid.startswith(p) for p in HEAVY)
                or (ndimage_test and not any(w in request.node.name for w in NDIMAGE_NAMES))):
            pytest.skip(OPT_IN)
    for prefix, need in BIGMEM.items():
        if nodeid.startswith(prefix):
            avail = _mem_available()
            if _BIGMEM_OFF or (avail is not None and avail < need):
                pytest.skip(f"needs {need >> 30} GiB (FASTCONV_SKIP_BIGMEM=1 or "
                            f"MemAvailable {None if avail is None else avail >> 30} GiB)")
    for prefix, reason in KNOWN.items():
        if nodeid.startswith(prefix):
            request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
