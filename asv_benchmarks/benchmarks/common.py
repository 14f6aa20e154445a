"""Helpers shared by the fastconv asv benchmarks.

asv runs the benchmarks against many commits of fastconv, so these helpers
skip (by raising ``NotImplementedError``, which asv reports as "n/a") the
parameter combinations that the measured version of fastconv, or the machine,
cannot run, instead of failing.

Profiles
--------
The environment variable ``FASTCONV_ASV_PROFILE`` chooses the size of the
suite; it is read once, when asv imports the benchmarks:

``full`` (the default)
    What the nightly report measures: both float dtypes, one and two threads,
    the shapes of typical network layers.
``quick``
    What continuous integration runs to keep the suite from rotting: every
    benchmark and every algorithm still runs, but with ``float32`` only, one
    thread and smaller arrays (:func:`pick`), so that
    ``asv run --quick`` of the whole suite takes a few minutes.

The parameter grid is the same for every commit measured in one run (asv
discovers the benchmarks once, then runs them by parameter index), so the
parameters below never depend on the installed fastconv: a combination that a
commit cannot run is skipped in ``setup`` instead.

Quick-profile timings measure other shapes than full-profile ones under the
same names: do not store them next to nightly results (``asv run --quick``
saves nothing, and ``asv_benchmarks/nightly.sh`` always uses the full
profile).
"""
import math
import os
import time

import numpy as np

import fastconv

#: The variable that chooses the profile, and its accepted values.
PROFILE_VARIABLE = "FASTCONV_ASV_PROFILE"
PROFILES = ("full", "quick")


def _read_profile():
    value = os.environ.get(PROFILE_VARIABLE, "full").strip().lower() or "full"
    if value not in PROFILES:
        raise ValueError(f"{PROFILE_VARIABLE}={value!r} is not a profile; use one of "
                         f"{', '.join(PROFILES)}")
    return value


#: ``"full"`` or ``"quick"``, from ``FASTCONV_ASV_PROFILE``.
PROFILE = _read_profile()
QUICK = PROFILE == "quick"

#: Algorithms benchmarked; each is skipped on versions that do not have it,
#: and where it does not apply to the shape (see :func:`check_call`).
ALGORITHMS = ("auto", "direct", "im2col", "winograd")
#: Algorithms that every version accepts for every shape: a ValueError from
#: one of these is a real failure, never a skip.
GENERAL_ALGORITHMS = ("auto", "direct", "im2col")
DTYPES = ("float32",) if QUICK else ("float32", "float64")
THREADS = (1,) if QUICK else (1, 2)


def pick(full, quick):
    """Return ``full`` in the full profile and ``quick`` in the quick one.

    Benchmarks choose their array shapes with it, e.g.
    ``x_shape = common.pick((8, 64, 4096), (2, 16, 512))``.
    """
    return quick if QUICK else full


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


def require_function(name, module=fastconv):
    """Return ``module.name``, or skip the benchmark if this version lacks it."""
    func = getattr(module, name, None)
    if func is None:
        raise NotImplementedError(
            f"{getattr(module, '__name__', module)}.{name} is not available in this "
            f"fastconv version")
    return func


def check_call(call, algorithm):
    """Run ``call()`` once (a warm-up) and return its result.

    A ``ValueError`` from a specialised algorithm (one not in
    :data:`GENERAL_ALGORITHMS`, e.g. ``"winograd"`` on a 5 x 5 kernel or a
    stride of 2) means that it does not apply to the shape: the benchmark is
    skipped. From the general algorithms it is a real error and propagates.
    """
    try:
        return call()
    except ValueError as exc:
        if algorithm in GENERAL_ALGORITHMS:
            raise
        raise NotImplementedError(f"algorithm {algorithm!r} does not apply: {exc}") from exc


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
