"""Threading: bitwise reproducibility across thread counts, the thread-count
API, OMP_NUM_THREADS / threadpoolctl, and the OpenMP build itself."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import threadpoolctl
from conftest import SERIAL_BUILD, assert_conv_close, make_array, n_terms_of

import fastconv
from fastconv import reference


# The explicit algorithms: 'auto' runs one of them, bit for bit (tests/test_conv.py::
# test_auto_runs_one_of_the_algorithms, its hypothesis test, and the rule in
# tests/test_winograd.py::test_auto_rule), so a grid of 'auto' would repeat a grid of
# theirs. Winograd applies to 3-tap stride-1 problems only: tests/test_winograd.py runs
# it on the applicable cases of these grids and checks its refusal on the others.
ALGORITHMS = ("direct", "im2col")
assert set(ALGORITHMS) == set(fastconv.ALGORITHMS) - {"auto", "winograd"}


def _openmp_enabled():
    from fastconv._kernels import _openmp

    return bool(_openmp.OPENMP_ENABLED)


def _usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


# Medium problems: enough work to be split between threads in every
# dimensionality, with sizes that do not divide evenly.
MEDIUM = [
    ("conv2d", (2, 24, 37, 41), (40, 24, 3, 3), dict(padding=1)),
    ("conv2d", (3, 32, 29, 31), (32, 1, 3, 3), dict(padding="same", groups=32, stride=2)),
    ("conv2d", (1, 16, 45, 43), (33, 16, 5, 5), dict(padding=2, padding_mode="reflect",
                                                     dilation=(1, 2))),
    ("conv1d", (3, 20, 701), (36, 10, 5), dict(padding="same", groups=2)),
    ("conv3d", (2, 8, 9, 15, 17), (12, 8, 3, 3, 3), dict(padding=1, stride=(1, 2, 1))),
    ("conv2d", (2, 24, 37, 150), (48, 1, 3, 3), dict(padding=(1, 2), dilation=(1, 2),
                                                     groups=24)),
    ("conv2d", (2, 300, 13, 11), (20, 150, 1, 1), dict(groups=2)),
    ("conv2d", (1, 40, 21, 19), (24, 40, 3, 3), dict(padding=1, stride=2)),
]
MEDIUM_IDS = ["2d", "2d-depthwise", "2d-reflect", "1d", "3d", "2d-depthwise-3x3-dilated",
              "2d-pointwise",
              "2d-passes-stride2"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("problem", MEDIUM, ids=MEDIUM_IDS)
def test_bitwise_identical_across_thread_counts(problem, algorithm, dtype, rng, threads):
    fn, x_shape, w_shape, kwargs = problem
    conv = getattr(fastconv, fn)
    x = make_array(rng, x_shape, dtype)
    w = make_array(rng, w_shape, dtype)
    b = make_array(rng, (w_shape[0],), dtype)
    results = {}
    for n in (1, 2, 3):
        fastconv.set_num_threads(n)
        results[n] = conv(x, w, b, algorithm=algorithm, **kwargs)
    fastconv.set_num_threads(None)
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        results["threadpoolctl-1"] = conv(x, w, b, algorithm=algorithm, **kwargs)
    results["default"] = conv(x, w, b, algorithm=algorithm, **kwargs)
    for key, y in results.items():
        assert np.array_equal(y, results[1]), f"{key} threads differs from 1 thread"
    assert_conv_close(results[1], getattr(reference, fn)(x, w, b, **kwargs), dtype,
                      n_terms_of(w, b))


def test_set_and_get_num_threads(restore_threads):
    fastconv.set_num_threads(1)
    assert fastconv.get_num_threads() == 1
    if not _openmp_enabled():
        fastconv.set_num_threads(2)
        assert fastconv.get_num_threads() == 1
        return
    fastconv.set_num_threads(2)
    assert fastconv.get_num_threads() == 2
    fastconv.set_num_threads(3)  # more than the cores is allowed
    assert fastconv.get_num_threads() == 3
    cores = _usable_cores()
    fastconv.set_num_threads(-1)
    assert fastconv.get_num_threads() == cores
    fastconv.set_num_threads(-2)
    assert fastconv.get_num_threads() == max(1, cores - 1)
    fastconv.set_num_threads(-1000)
    assert fastconv.get_num_threads() == 1
    fastconv.set_num_threads(np.int64(2))
    assert fastconv.get_num_threads() == 2
    fastconv.set_num_threads(None)
    default = fastconv.get_num_threads()
    assert default >= 1
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert fastconv.get_num_threads() == 1
    assert fastconv.get_num_threads() == default


def test_set_num_threads_errors(restore_threads):
    fastconv.set_num_threads(2)
    with pytest.raises(ValueError, match="0"):
        fastconv.set_num_threads(0)
    for bad in (1.5, "2", 2.0, True):
        with pytest.raises(TypeError):
            fastconv.set_num_threads(bad)
    # A refused value leaves the setting unchanged.
    if _openmp_enabled():
        assert fastconv.get_num_threads() == 2


def _run_python(code, **env):
    full_env = dict(os.environ)
    full_env.update(env)
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastconv.__file__)))
    full_env["PYTHONPATH"] = root + os.pathsep + full_env.get("PYTHONPATH", "")
    # Run from the directory of the fastconv under test: `python -c` puts the
    # working directory first on sys.path, and a source checkout there would
    # shadow the installed (compiled) package.
    result = subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True,
                            text=True, timeout=120, cwd=root)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_omp_num_threads_is_respected():
    if not _openmp_enabled():
        pytest.skip(SERIAL_BUILD)
    code = "import fastconv; print(fastconv.get_num_threads())"
    assert _run_python(code, OMP_NUM_THREADS="1").strip() == "1"
    assert _run_python(code, OMP_NUM_THREADS="2").strip() == "2"


def test_show_config_reports_openmp(capsys):
    # What the build really has, as the compiled flag, the build record and
    # show_config all say it: "on", or "OFF (serial build)".
    from fastconv._build_info import BUILD_INFO

    assert fastconv.get_config()["openmp"] == _openmp_enabled() == BUILD_INFO["openmp"]
    fastconv.show_config()
    text = capsys.readouterr().out
    openmp = re.findall(r"^  openmp +(.*)$", text, re.MULTILINE)   # not the pools' lines
    assert openmp == ["on" if _openmp_enabled() else "OFF (serial build)"]
    threads = re.findall(r"^  threads +(\d+) ", text, re.MULTILINE)
    assert threads == [str(fastconv.get_num_threads())]


@pytest.mark.skipif(os.environ.get("FASTCONV_REQUIRE_OPENMP", "0") != "1",
                    reason="FASTCONV_REQUIRE_OPENMP=1 is not set")
def test_build_has_openmp():
    from fastconv._kernels import _openmp

    assert _openmp.OPENMP_ENABLED is True or _openmp.OPENMP_ENABLED == 1
    fastconv.set_num_threads(2)
    try:
        assert fastconv.get_num_threads() == 2
    finally:
        fastconv.set_num_threads(None)


def test_threadpoolctl_sees_openmp():
    if not _openmp_enabled():
        pytest.skip(SERIAL_BUILD)
    # After a call, the OpenMP runtime the kernels use is visible to threadpoolctl.
    fastconv.conv1d(np.ones((1, 1, 8)), np.ones((1, 1, 3)))
    info = threadpoolctl.threadpool_info()
    assert any(pool.get("user_api") == "openmp" for pool in info), info
