"""How many threads the kernels use.

The rules follow scikit-learn's ``_openmp_effective_n_threads``:

* ``set_num_threads(None)`` (the default) defers to the OpenMP runtime: all usable
  cores unless ``OMP_NUM_THREADS`` or ``threadpoolctl.threadpool_limits(n,
  user_api="openmp")`` says fewer;
* a positive count is used as given;
* a negative count counts from the number of usable cores: ``-1`` is all of
  them, ``-2`` all but one (never fewer than one);
* ``0`` is an error.

fastconv calls no BLAS: its GEMM is its own, so no BLAS thread pool can be
oversubscribed inside its parallel regions.
"""
import numbers
import os

from fastconv._kernels._openmp import OPENMP_ENABLED, openmp_max_threads

_user_threads = None


def usable_cores():
    """The number of cores this process may run on (its CPU affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def check_num_threads(n):
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an int or None, got {n!r} of type {type(n).__name__}")
    n = int(n)
    if n == 0:
        raise ValueError("n=0 threads is not allowed: use None for all usable cores, "
                         "a positive count, or a negative count from the end (-1 = all cores)")
    return n


def effective_n_threads(n=None):
    """Return the number of threads a kernel will use for the setting ``n``.

    Parameters
    ----------
    n : int or None
        None: the OpenMP default (all usable cores unless limited by
        ``OMP_NUM_THREADS`` or threadpoolctl). Positive: that many. Negative:
        ``usable_cores + 1 + n``, at least 1.

    Returns
    -------
    int
        Always 1 in a build without OpenMP.
    """
    n = check_num_threads(n)
    if not OPENMP_ENABLED:
        return 1
    if n is None:
        return max(1, openmp_max_threads())
    if n < 0:
        return max(1, usable_cores() + 1 + n)
    return n


def set_num_threads(n):
    """Set the number of threads used by fastconv's kernels.

    Parameters
    ----------
    n : int or None
        None restores the default (the OpenMP runtime's maximum, which follows
        ``OMP_NUM_THREADS`` and ``threadpoolctl``); a positive count is used as
        given; a negative count counts back from the usable cores (-1 = all).

    Raises
    ------
    ValueError
        If ``n`` is 0.
    TypeError
        If ``n`` is not an integer or None.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.set_num_threads(1)
    >>> fastconv.get_num_threads()
    1
    >>> fastconv.set_num_threads(None)   # back to the default
    """
    global _user_threads
    _user_threads = check_num_threads(n)


def get_num_threads():
    """Return the number of threads the next fastconv call will use.

    Returns
    -------
    int
        The effective count for the current setting (see :func:`set_num_threads`);
        1 in a build without OpenMP.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.get_num_threads() >= 1
    True
    """
    return effective_n_threads(_user_threads)
