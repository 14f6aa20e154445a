"""The skips the README's test command may report, and the check that there are no others.

A skipped test checks nothing, and a skip nobody expected (a missing test
dependency, a serial build, an oracle that stopped importing) would
otherwise pass CI unnoticed. CI runs the README's test command with
``FASTCONV_CHECK_SKIPS=1`` on a machine like the development one (x86-64
with AVX2 and FMA, no AVX-512, in a fresh virtual environment with the test
extra: SciPy, no PyTorch); the run then fails if any test or module is
skipped for a reason that no entry of :data:`EXPECTED_SKIPS` matches, and
lists those skips.

Adding an expected skip
-----------------------
Append an :class:`ExpectedSkip` to :data:`EXPECTED_SKIPS`: a regular
expression that matches the whole skip reason (``re.fullmatch``; the reason
is what ``pytest.skip`` / ``skipif`` / ``importorskip`` was given, as
``pytest -rs`` prints it) and why the test cannot run on CI's machine. A
skip that CI's machine could avoid (a package the test extra should install,
a test that should check rather than skip) is a fix to make, not an entry.
Keep each reason specific, e.g. ``"could not import 'dask'.*"`` rather than
``"could not import.*"``, so that one entry cannot hide another skip.

The module is a pytest plugin: ``tests/conftest.py`` imports its hooks, and
``python -m pytest -p expected_skips`` (with ``tests`` on ``sys.path``) loads
it into another run, as tests/test_expected_skips.py does.
"""
import dataclasses
import os
import re

import pytest

#: Environment variable that turns the check on.
CHECK_VARIABLE = "FASTCONV_CHECK_SKIPS"


@dataclasses.dataclass(frozen=True)
class ExpectedSkip:
    """A skip reason the README's test command may report on CI's machine."""

    #: Regular expression the whole skip reason must match.
    reason: str
    #: Why the skipped test cannot run there.
    why: str

    def matches(self, reason):
        return re.fullmatch(self.reason, reason, flags=re.DOTALL) is not None


EXPECTED_SKIPS = [
    ExpectedSkip(r"could not import 'torch': .*",
                 "PyTorch is an optional second oracle (its tests, the complex convolutions' "
                 "and gradients' among them, are run by a later CI step that installs "
                 "torch==2.13.0); the test extra does not install it"),
    ExpectedSkip(r"ISA level 'avx512' is not supported by this CPU: its kernels are not run here",
                 "the development and CI machines have AVX2 but no AVX-512: the AVX-512 "
                 "kernels are compiled but cannot run there"),
    ExpectedSkip(r"FASTCONV_REQUIRE_OPENMP=1 is not set",
                 "the assertion that the build has OpenMP applies where the build was required "
                 "to have it (CI sets the variable; a user's build may be serial, with a warning)"),
    ExpectedSkip(r"cibuildwheel is not installed",
                 "the release pipeline's build list is checked by a later CI step that installs "
                 "the pinned cibuildwheel; the test extra does not install it"),
    ExpectedSkip(r"not installed from a repaired wheel",
                 "the bundled OpenMP runtime exists only in a repaired wheel: a later CI step "
                 "installs one and runs the suite against it; the README's command tests a checkout"),
    ExpectedSkip(r"SciPy's full test modules run with FASTCONV_SCIPY_ALL=1 \(CI runs the cheap "
                 r"subset\)",
                 "tests/test_scipy_acceptance.py runs SciPy's own signal and ndimage tests "
                 "against fastconv; the full modules take minutes (and one test 6 GiB), over "
                 "CI's budget: CI runs the tests of fastconv's functions that are cheap"),
    ExpectedSkip(r"not an emulated-AVX-512 build \(FASTCONV_EMULATE_AVX512=1\)",
                 "the AVX-512 level emulated on AVX2 is a separate build, tested by a later CI step"),
    ExpectedSkip(r"needs [0-9.]+ GiB of available memory, [0-9.]+ GiB available",
                 "the tests of arrays past 2**31 elements (tests/test_bigmem.py) need 9-17 GiB "
                 "free; the machine's memory is shared, so they run only when it is free"),
    ExpectedSkip(r"FASTCONV_SKIP_BIGMEM=1",
                 "the tests of arrays past 2**31 elements are switched off on request "
                 "(a machine whose memory is needed by others)"),
    ExpectedSkip(r"the out-of-core run is opt-in: set FASTCONV_DASK_OUT_OF_CORE=1",
                 "fastconv.dask's out-of-core test computes a 2 GiB input on a LocalCluster "
                 "(about a minute): beyond CI's time budget, run by hand"),
]

_SEEN = []


def unexpected(skips, expected=EXPECTED_SKIPS):
    """The ``(nodeid, reason)`` pairs of ``skips`` that no entry of ``expected`` matches."""
    return [(nodeid, reason) for nodeid, reason in skips
            if not any(entry.matches(reason) for entry in expected)]


def _reason(longrepr):
    """The skip reason of a report (``longrepr`` is ``(path, line, "Skipped: reason")``)."""
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text[len("Skipped: "):] if text.startswith("Skipped: ") else text


def _checking():
    return os.environ.get(CHECK_VARIABLE, "") == "1"


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        _SEEN.append((report.nodeid, _reason(report.longrepr)))


def pytest_collectreport(report):
    if report.skipped:
        _SEEN.append((report.nodeid, _reason(report.longrepr)))


def pytest_sessionfinish(session, exitstatus):
    passed = (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
    if _checking() and unexpected(_SEEN) and exitstatus in passed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _checking():
        return
    new = unexpected(_SEEN)
    write = terminalreporter.write_line
    if not new:
        write(f"{CHECK_VARIABLE}: all {len(_SEEN)} skips are expected "
              f"(tests/expected_skips.py)")
        return
    terminalreporter.section("unexpected skips", sep="=", red=True)
    for nodeid, reason in new:
        write(f"{nodeid}: {reason}")
    write(f"{len(new)} unexpected skip(s) of {len(_SEEN)}: make the test run here, or add an "
          f"ExpectedSkip (with the reason it cannot) to tests/expected_skips.py")
