"""Leaks: resident memory does not grow over thousands of calls.

Every public function (``tests/public_api.py``) is called many times, with
calls that fail on bad arguments, calls whose workspace allocation fails
inside the parallel region and calls interrupted by a signal handler mixed
in. After a warm-up the process's resident set (psutil) and the memory
that Python and NumPy hold (tracemalloc) may not grow beyond a small bound:
a leaked workspace (at least a few KiB per call) or a leaked result would
exceed it many times over.
"""
import gc
import signal
import tracemalloc

import numpy as np
import pytest
from public_api import cases, shape_cases

import fastconv
from fastconv._kernels import _openmp

psutil = pytest.importorskip("psutil")

ROUNDS = 40                # x 45 public calls, plus the failing and interrupted ones
RSS_BOUND = 8 * 2 ** 20
TRACED_BOUND = 256 * 2 ** 10


class Alarm(Exception):
    pass


def _failing_calls():
    x, w = np.ones((1, 4, 9, 9), np.float32), np.ones((4, 2, 3, 3), np.float32)
    bad = [
        lambda: fastconv.conv2d(x, w),                           # channels
        lambda: fastconv.conv2d(x, w, groups=2, padding=-1),
        lambda: fastconv.conv2d(x, w, groups=2, out=np.empty((1, 4, 7, 6), np.float32)),
        lambda: fastconv.conv2d(x, w, groups=2, padding=2 ** 40),
        lambda: fastconv.conv_transpose2d(x, w, stride=2 ** 20),
        lambda: fastconv.correlate(x[0, 0], np.ones((3, 3)), mode="bogus"),
        lambda: fastconv.grad.conv2d_weight(x, (4, 2, 3, 3), np.ones((1, 4, 5, 5))),
        lambda: fastconv.separate(np.eye(3)),
    ]
    return bad


def _workspace_failures(rng):
    x = rng.standard_normal((2, 16, 33, 31)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)

    def call():
        _openmp._fail_workspaces(1)
        try:
            fastconv.conv2d(x, w, padding=1, algorithm="im2col")
        except MemoryError:
            return
        finally:
            _openmp._fail_workspaces(0)
        raise AssertionError("the workspace allocation did not fail")
    return call


def _interrupted(rng):
    x = rng.standard_normal((2, 48, 64, 64)).astype(np.float32)
    w = rng.standard_normal((48, 48, 5, 5)).astype(np.float32)

    def call():
        signal.setitimer(signal.ITIMER_REAL, 0.003)
        try:
            fastconv.conv2d(x, w, padding=2, algorithm="direct")
        except Alarm:
            return True
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        return False
    return call


def _round(calls, failing, workspace, interrupted):
    for case in calls:
        case()
    for bad in failing:
        try:
            bad()
        except (ValueError, TypeError, MemoryError):
            pass
        else:
            raise AssertionError("a bad call did not raise")
    workspace()
    return interrupted()


def test_no_growth_over_thousands_of_calls(restore_threads):
    fastconv.set_num_threads(2)
    rng = np.random.default_rng(0)
    calls = cases(rng, np.float32, batch=1) + shape_cases()
    failing, workspace, interrupted = _failing_calls(), _workspace_failures(rng), \
        _interrupted(rng)
    previous = signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(Alarm()))
    interval = _openmp._set_signal_interval(0.001)
    process = psutil.Process()
    try:
        for _ in range(5):                                   # warm-up: caches, pools
            _round(calls, failing, workspace, interrupted)
        tracemalloc.start()
        gc.collect()           # exceptions' tracebacks hold cycles until collected
        rss0 = process.memory_info().rss
        traced0 = tracemalloc.get_traced_memory()[0]
        stopped = sum(_round(calls, failing, workspace, interrupted) for _ in range(ROUNDS))
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0] - traced0
        rss = process.memory_info().rss - rss0
    finally:
        tracemalloc.stop()
        signal.signal(signal.SIGALRM, previous)
        _openmp._set_signal_interval(interval)
    n_calls = ROUNDS * (len(calls) + len(failing) + 2)
    assert n_calls >= 2000
    assert stopped >= ROUNDS // 2, f"only {stopped} of {ROUNDS} calls were interrupted"
    assert rss < RSS_BOUND, f"resident memory grew by {rss / 2 ** 20:.1f} MiB over {n_calls} calls"
    assert traced < TRACED_BOUND, f"Python/NumPy memory grew by {traced} bytes"
    assert _openmp.budget() == {"calls": 0, "threads": 0}
