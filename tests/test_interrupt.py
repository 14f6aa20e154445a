"""Ctrl-C: a long call raises KeyboardInterrupt soon after SIGINT, and the
library stays usable.

A child process runs, one after the other, a multi-second call through
every kernel entry point (each would take several seconds on this machine
at 2 threads); the parent sends SIGINT one second into each. The call must
raise KeyboardInterrupt within 0.5 s of the signal (1.5 s after it
started), every thread given back (``_openmp.budget()``), and the next
call must be correct.
"""
import signal
import time

import pytest
from scripts import start_script

CHILD = """
import sys, time
import numpy as np
import fastconv
from fastconv import reference
from fastconv._kernels import _gemm, _openmp

fastconv.set_num_threads(2)
rng = np.random.default_rng(0)

def a(*shape):
    return rng.random(shape, dtype=np.float32)

# Each long enough to run for several seconds uninterrupted (about 30-200
# GFLOP), with arrays of at most about 0.3 GB: first touches of fresh memory
# can be slow on a virtual machine, and a kernel's thread 0 stuck in them
# does not poll.
def direct():
    return fastconv.conv2d, (a(4, 64, 256, 256), a(64, 64, 5, 5)), dict(algorithm="direct")
def depthwise():
    return fastconv.conv2d, (a(2, 128, 512, 512), a(128, 1, 21, 21)), dict(groups=128)
def im2col():
    return fastconv.conv2d, (a(8, 128, 256, 256), a(128, 128, 5, 5)), dict(algorithm="im2col")
def winograd():
    return fastconv.conv2d, (a(8, 256, 192, 192), a(256, 256, 3, 3)), dict(algorithm="winograd")
def filter2d():
    return fastconv.correlate, (a(8192, 4096), a(41, 41)), dict(mode="same", algorithm="direct")
def separable():
    return fastconv.separable_conv2d, (a(2, 512, 256, 256), a(512, 1, 3, 3),
                                       a(512, 512, 1, 1)), {}
def weight_grad():
    x, gy = a(8, 128, 256, 256), a(8, 128, 254, 254)
    return fastconv.grad.conv2d_weight, (x, (128, 128, 3, 3), gy), {}
def matmul():
    return _gemm.matmul, (a(6000, 6000), a(6000, 6000)), {}
def transposed():
    return fastconv.conv_transpose2d, (a(4, 256, 128, 128), a(256, 128, 4, 4)), dict(
        stride=2, algorithm="im2col")

small_x, small_w = a(2, 8, 17, 19), a(6, 8, 3, 3)
for make in (direct, depthwise, im2col, winograd, filter2d, separable, weight_grad, matmul,
             transposed):
    fn, args, kwargs = make()
    print("ready", make.__name__, flush=True)
    start = time.monotonic()
    try:
        fn(*args, **kwargs)
        print("finished", make.__name__, time.monotonic() - start, flush=True)
    except KeyboardInterrupt:
        print("interrupted", make.__name__, time.monotonic() - start, flush=True)
    del args
    ok = _openmp.budget() == {"calls": 0, "threads": 0}
    y = fastconv.conv2d(small_x, small_w, padding=1)
    ok = ok and np.allclose(y, reference.conv2d(small_x, small_w, padding=1), atol=1e-4)
    print("next call", "ok" if ok else "WRONG", flush=True)
"""

KERNELS = 9


def test_sigint_interrupts_every_kernel(tmp_path):
    proc = start_script(tmp_path, CHILD)
    report = []
    try:
        for _ in range(KERNELS):
            line = proc.stdout.readline()
            assert line.startswith("ready"), (line, proc.stderr.read() if not line else "")
            name = line.split()[1]
            time.sleep(1.0)
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            outcome = proc.stdout.readline().split()
            reacted = time.monotonic() - sent
            after = proc.stdout.readline().split()
            report.append((name, outcome, reacted, after))
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    for name, outcome, reacted, after in report:
        assert outcome[:2] == ["interrupted", name], (name, outcome, "the call was not "
                                                      "interrupted: make it longer")
        assert float(outcome[2]) < 1.5, (name, f"KeyboardInterrupt {float(outcome[2]):.2f} s "
                                               f"after the call started")
        assert reacted < 1.0, (name, reacted)
        assert after == ["next", "call", "ok"], (name, after)
    assert proc.returncode == 0


@pytest.mark.parametrize("kernel", ["im2col", "direct"])
def test_a_signal_handler_exception_stops_the_call(kernel, restore_threads):
    """Any exception a Python signal handler raises during a call stops it
    (SIGALRM here, polled every millisecond); the next call is exact."""
    import numpy as np

    import fastconv
    from fastconv._kernels import _openmp

    class Alarm(Exception):
        pass

    def handler(signum, frame):
        raise Alarm

    rng = np.random.default_rng(0)
    x = rng.random((2, 64, 96, 96), dtype=np.float32)
    w = rng.random((64, 64, 5, 5), dtype=np.float32)
    expected = fastconv.conv2d(x, w, algorithm=kernel)
    previous = signal.signal(signal.SIGALRM, handler)
    interval = _openmp._set_signal_interval(0.001)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.005)
        with pytest.raises(Alarm):
            fastconv.conv2d(x, w, algorithm=kernel)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _openmp._set_signal_interval(interval)
    assert _openmp.budget() == {"calls": 0, "threads": 0}
    np.testing.assert_array_equal(fastconv.conv2d(x, w, algorithm=kernel), expected)
