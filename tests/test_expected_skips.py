"""The skip check of tests/expected_skips.py: its list, its matching, and a run it fails."""
import os
import re
import subprocess
import sys
import textwrap

import expected_skips
from expected_skips import EXPECTED_SKIPS, ExpectedSkip, unexpected

TESTS = os.path.dirname(os.path.abspath(__file__))


def test_every_entry_is_a_pattern_with_a_reason():
    assert len({e.reason for e in EXPECTED_SKIPS}) == len(EXPECTED_SKIPS)
    for entry in EXPECTED_SKIPS:
        re.compile(entry.reason)
        assert len(entry.why.split()) >= 8, f"say why {entry.reason!r} must skip"


def test_matching_is_on_the_whole_reason():
    entries = [ExpectedSkip(r"could not import 'torch': .*", "optional")]
    skips = [("a", "could not import 'torch': No module named 'torch'"),
             ("b", "could not import 'torchvision': No module named 'torchvision'"),
             ("c", "xx could not import 'torch': y"),
             ("d", "built without OpenMP: results under 1 and N threads cannot differ")]
    assert unexpected(skips, entries) == skips[1:]


def test_the_skips_of_this_suite_that_ci_must_not_accept():
    # A serial build and a missing SciPy (the test extra's oracle) are failures on CI.
    from conftest import SERIAL_BUILD

    assert unexpected([("t", SERIAL_BUILD)]) == [("t", SERIAL_BUILD)]
    scipy = "could not import 'scipy.signal': No module named 'scipy'"
    assert unexpected([("t", scipy)]) == [("t", scipy)]


def _run(tmp_path, body):
    probe = tmp_path / "test_probe.py"
    probe.write_text(textwrap.dedent(body))
    env = dict(os.environ, PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env[expected_skips.CHECK_VARIABLE] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "expected_skips",
                           "-p", "no:cacheprovider", str(probe)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_a_run_with_an_unexpected_skip_fails(tmp_path):
    result = _run(tmp_path, """
        import pytest

        def test_passes():
            pass

        def test_new_skip():
            pytest.skip("a reason nobody listed")

        @pytest.mark.skip(reason="could not import 'torch': No module named 'torch'")
        def test_expected_skip():
            pass
    """)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "unexpected skips" in result.stdout
    assert "test_new_skip: a reason nobody listed" in result.stdout
    assert "test_expected_skip" not in result.stdout.split("unexpected skips")[1]


def test_a_run_with_expected_skips_only_passes(tmp_path):
    result = _run(tmp_path, """
        import pytest

        def test_passes():
            pass

        @pytest.mark.skipif(True, reason="FASTCONV_REQUIRE_OPENMP=1 is not set")
        def test_expected_skip():
            pass
    """)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all 1 skips are expected" in result.stdout


def test_a_skipped_module_counts(tmp_path):
    result = _run(tmp_path, """
        import pytest

        pytest.importorskip("a_module_that_is_not_there")

        def test_never_collected():
            pass
    """)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "could not import 'a_module_that_is_not_there'" in result.stdout
