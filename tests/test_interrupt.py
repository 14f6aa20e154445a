"""Ctrl-C: a long call raises KeyboardInterrupt soon after SIGINT, and the
library stays usable.

* The issue's test: a child process runs a multi-second conv2d and gets
  SIGINT one second into it. It must raise KeyboardInterrupt soon after:
  within 0.5 s as a rule, and within the issue's 1.5 s on a loaded machine
  (the time from the signal to the exception is measured on the machine's
  monotonic clock, which the two processes share, so the parent's own
  scheduling delays do not count). Every thread is given back and the next
  call is correct.
* Every kernel entry point stops the same way: in this process, a Python
  signal handler (SIGALRM, the kernels polling every millisecond) raises
  while a long call is in its parallel region; the call ends with that
  exception, its threads are given back and the next call is exact.
"""
import signal
import time

import numpy as np
import pytest
from scripts import start_script

import fastconv
from fastconv._build_info import BUILD_INFO
from fastconv._kernels import _gemm, _openmp

CHILD = """
import os, signal, time
import numpy as np
import fastconv
# Python installs its KeyboardInterrupt handler only when SIGINT is not
# ignored at startup; a parent started in the background (a CI job, nohup)
# passes SIGINT ignored down, so install it here.
signal.signal(signal.SIGINT, signal.default_int_handler)
from fastconv._kernels import _openmp

fastconv.set_num_threads(2)
rng = np.random.default_rng(0)
small_x = rng.standard_normal((2, 8, 17, 19)).astype(np.float32)
small_w = rng.standard_normal((6, 8, 3, 3)).astype(np.float32)
expected = fastconv.conv2d(small_x, small_w, padding=1)
# About 500 GFLOP through the direct kernel (its grid kernel, about 80
# GFLOP/s on 2 cores of the development machine): several seconds, at least
# one on a fast machine.
x = np.full((4, 128, 192, 192), 0.5, np.float32)
w = np.full((128, 128, 11, 11), 0.25, np.float32)
print("ready", flush=True)
start = time.monotonic()
try:
    fastconv.conv2d(x, w, algorithm="direct")
    print("finished", time.monotonic() - start, flush=True)
except KeyboardInterrupt:
    print("interrupted", time.monotonic(), flush=True)
ok = _openmp.budget() == {"calls": 0, "threads": 0}
ok = ok and np.array_equal(fastconv.conv2d(small_x, small_w, padding=1), expected)
print("next call", "ok" if ok else "WRONG", flush=True)
os._exit(0)         # the interpreter's teardown is not under test
"""


def test_sigint_one_second_into_a_long_conv(tmp_path):
    proc = start_script(tmp_path, CHILD)
    try:
        line = proc.stdout.readline()
        assert line.startswith("ready"), (line, proc.stderr.read() if not line else "")
        time.sleep(1.0)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        outcome = proc.stdout.readline().split()
        after = proc.stdout.readline().split()
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert outcome[:1] == ["interrupted"], (outcome, proc.stderr.read())
    reaction = float(outcome[1]) - sent
    # 0.05 s poll interval plus one work item; 1.5 s allows for a loaded
    # machine. A sanitized build is unoptimised and instruments every access:
    # one of the grid kernel's work items (a row of 128 output channels, 128
    # input channels, 11 x 11 taps) takes seconds there.
    bound = 20.0 if BUILD_INFO.get("sanitize") else 1.5
    assert reaction < bound, f"KeyboardInterrupt {reaction:.2f} s after SIGINT"
    assert after == ["next", "call", "ok"], after
    assert proc.returncode == 0, proc.stderr.read()


def _arrays(*shapes):
    return [np.full(s, 0.5, np.float32) for s in shapes]


# Each kernel entry point with a problem of about 0.5-2 s uninterrupted at 2
# threads on the development machine (it is stopped after milliseconds).
LONG = {
    "direct": lambda: (fastconv.conv2d, _arrays((2, 64, 128, 128), (64, 64, 5, 5)),
                       dict(algorithm="direct")),
    "depthwise": lambda: (fastconv.conv2d, _arrays((2, 128, 128, 128), (128, 1, 21, 21)),
                          dict(groups=128)),
    "im2col": lambda: (fastconv.conv2d, _arrays((2, 64, 128, 128), (64, 64, 5, 5)),
                       dict(algorithm="im2col")),
    "winograd": lambda: (fastconv.conv2d, _arrays((2, 128, 128, 128), (128, 128, 3, 3)),
                         dict(algorithm="winograd")),
    "filter2d": lambda: (fastconv.correlate, _arrays((2048, 2048), (41, 41)),
                         dict(mode="same", algorithm="direct")),
    "separable": lambda: (fastconv.separable_conv2d,
                          _arrays((2, 256, 128, 128), (256, 1, 3, 3), (256, 256, 1, 1)), {}),
    "weight_grad": lambda: (fastconv.grad.conv2d_weight,
                            [_arrays((4, 64, 128, 128))[0], (64, 64, 3, 3),
                             _arrays((4, 64, 126, 126))[0]], {}),
    "matmul": lambda: (_gemm.matmul, _arrays((2000, 2000), (2000, 2000)), {}),
    "transposed": lambda: (fastconv.conv_transpose2d, _arrays((2, 256, 64, 64), (256, 128, 4, 4)),
                           dict(stride=2, algorithm="im2col")),
}


class Alarm(Exception):
    pass


@pytest.mark.skipif(not _openmp.OPENMP_ENABLED, reason="serial build")
@pytest.mark.parametrize("kernel", sorted(LONG))
def test_a_signal_handler_exception_stops_every_kernel(kernel, restore_threads):
    fastconv.set_num_threads(2)
    rng = np.random.default_rng(0)
    small_x = rng.standard_normal((2, 8, 17, 19)).astype(np.float32)
    small_w = rng.standard_normal((6, 8, 3, 3)).astype(np.float32)
    expected = fastconv.conv2d(small_x, small_w, padding=1)
    fn, args, kwargs = LONG[kernel]()
    seen = []

    def handler(signum, frame):
        # Raise only inside a kernel's parallel region (a call in flight):
        # on a loaded machine the timer may fire while the call is still in
        # Python; then wait for the next tick.
        if _openmp.budget()["calls"] == 0:
            signal.setitimer(signal.ITIMER_REAL, 0.002)
            return
        seen.append(time.monotonic())
        raise Alarm

    previous = signal.signal(signal.SIGALRM, handler)
    interval = _openmp._set_signal_interval(0.001)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.005)
        start = time.monotonic()
        with pytest.raises(Alarm):
            fn(*args, **kwargs)
        stopped = time.monotonic()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _openmp._set_signal_interval(interval)
    assert len(seen) == 1
    # Generous: the handler raised inside the region; the call must end with
    # that item (not run to its end). A sanitized build is unoptimised and
    # checks every access: its work items take ten times as long and more.
    bound = 10.0 if BUILD_INFO.get("sanitize") else 1.0
    assert stopped - seen[0] < bound, (kernel, stopped - seen[0], stopped - start)
    assert _openmp.budget() == {"calls": 0, "threads": 0}
    np.testing.assert_array_equal(fastconv.conv2d(small_x, small_w, padding=1), expected)
