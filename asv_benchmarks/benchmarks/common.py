"""Helpers shared by the fastconv asv benchmarks.

asv runs the benchmarks against many commits of fastconv, so these helpers
skip (by raising ``NotImplementedError``, which asv reports as "n/a") the
parameter combinations that the measured version of fastconv, or the machine,
cannot run, instead of failing.
"""
import math
import os
import time

import numpy as np

import fastconv

#: Algorithms benchmarked; each is skipped on versions that do not have it.
ALGORITHMS = ("auto", "direct", "im2col")
DTYPES = ("float32", "float64")
THREADS = (1, 2)


def usable_cores():
    """Return the number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def require_algorithm(algorithm):
    """Skip the benchmark if this fastconv version lacks ``algorithm``."""
    available = getattr(fastconv, "ALGORITHMS", ("auto",))
    if algorithm not in available:
        raise NotImplementedError(
            f"algorithm {algorithm!r} is not available in this fastconv version "
            f"(available: {available})")


def set_threads(threads):
    """Make fastconv use ``threads`` threads (None: its default).

    Skips the benchmark when the machine has fewer usable cores than asked
    for, since oversubscribed timings would be meaningless.
    """
    if threads is not None and threads > usable_cores():
        raise NotImplementedError(
            f"{threads} threads asked for, but only {usable_cores()} usable cores")
    fastconv.set_num_threads(threads)


def restore_threads():
    """Return fastconv to its default thread count.

    Every benchmark runs in a fresh interpreter (``launch_method`` is
    ``"spawn"``) that starts from the default, so the default is what is
    restored.
    """
    fastconv.set_num_threads(None)


def random_array(shape, dtype, seed):
    """Return a C-contiguous array of standard normal values.

    Every page of the array is written while it is generated, so no page
    fault of the input lands in the timed code.
    """
    rng = np.random.default_rng(seed)
    return np.ascontiguousarray(rng.standard_normal(shape).astype(dtype))


def conv_function(ndim):
    """Return ``fastconv.conv1d``, ``conv2d`` or ``conv3d``."""
    return getattr(fastconv, f"conv{ndim}d")


def conv_macs(x_shape, w_shape, stride=1, padding=0, dilation=1):
    """Multiply-accumulates of a convolution: output size times window size.

    Every output value takes ``C_in // groups * prod(kernel)`` multiply-adds,
    which is ``prod(w_shape[1:])``.
    """
    out_shape = fastconv.conv_output_shape(
        x_shape, w_shape, stride=stride, padding=padding, dilation=dilation)
    return math.prod(out_shape) * math.prod(w_shape[1:])


def best_time(func, repeats):
    """Run ``func`` once to warm up, then return its best time over ``repeats`` runs."""
    func()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best
