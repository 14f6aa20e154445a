"""How many threads a block's computation runs on, inside a Dask worker.

``distributed``'s nanny starts worker processes with ``OMP_NUM_THREADS=1``
(its ``distributed.nanny.pre-spawn-environ``), so fastconv's kernels would
run on one thread in every task. A block therefore sets its own count, for
the thread that runs it (OpenMP's thread count is a per-thread setting;
threadpoolctl sets it), and restores it afterwards:

* ``num_threads`` when the caller gave one (the rules of
  :func:`fastconv.set_num_threads`: a negative count counts back from the
  usable cores);
* in a ``distributed`` worker, ``max(1, cores // host threads)``: the cores
  available to the worker process (its CPU affinity and cgroup quota, as
  Dask counts them) shared among the task threads of every worker on its
  host (the scheduler's list, asked once a while): worker processes on one
  machine see the same cores, and two workers of one thread on two cores,
  each running its tasks on both, would oversubscribe them (OpenMP threads
  waiting at a barrier for a thread the other process holds off its core
  cost about as much as the convolution itself);
* in a thread of Dask's local threaded scheduler, the same with the
  scheduler's pool size (``num_workers``, by default the core count);
* in the main thread (the synchronous scheduler), fastconv's own setting.

A :func:`fastconv.set_num_threads` made inside the worker process takes
precedence over all of these.
"""
import contextlib
import functools
import threading
import time

from fastconv._blockwise import effective_n_threads


@functools.lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()


def _cores():
    """Cores available to this process: its CPU affinity and cgroup quota, as
    Dask counts them (``dask.system.CPU_COUNT``)."""
    from dask.system import CPU_COUNT
    return max(1, int(CPU_COUNT))


#: How long a worker trusts its count of the task threads on its host (s).
HOST_THREADS_TTL = 30.0
_host_threads = {}          # worker address -> (time asked, threads on its host)


def _ask_host_threads(worker):
    """The task threads of all workers on ``worker``'s host, from the scheduler."""
    from distributed.comm import get_address_host
    from distributed.utils import sync
    host = get_address_host(worker.address)
    # {address: threads} of the running workers: a few bytes per worker.
    threads = sync(worker.loop, worker.scheduler.ncores_running, callback_timeout=5)
    return sum(int(n) for a, n in threads.items() if get_address_host(a) == host)


def _host_threads_of(worker, own):
    """The task threads of the workers sharing ``worker``'s host (at least its
    own ``own``), cached for :data:`HOST_THREADS_TTL` seconds; ``own`` when
    the scheduler cannot be asked."""
    now = time.monotonic()
    cached = _host_threads.get(worker.address)
    if cached is not None and now - cached[0] < HOST_THREADS_TTL:
        return max(own, cached[1])
    try:
        threads = _ask_host_threads(worker)
    except Exception:           # no scheduler reachable: the worker's own threads
        threads = own
    _host_threads[worker.address] = (now, threads)
    return max(own, threads)


def _worker_threads():
    """Task threads sharing the cores of the distributed worker running this
    code (its own and those of the other workers on its host), or None."""
    try:
        from distributed import get_worker
    except ImportError:
        return None
    try:
        worker = get_worker()
    except ValueError:
        return None
    state = getattr(worker, "state", worker)
    own = int(getattr(state, "nthreads", None) or worker.nthreads)
    return _host_threads_of(worker, own)


def task_threads(num_threads=None):
    """The thread count a block computed here runs on, or None for fastconv's own.

    Parameters
    ----------
    num_threads : int or None
        The caller's request (``fastconv.dask`` functions' ``num_threads``).

    Returns
    -------
    int or None
        The count (see the module's rules), or None where fastconv's own
        setting applies (the main thread: the synchronous scheduler).

    Examples
    --------
    >>> import fastconv.dask
    >>> fastconv.dask.task_threads(2)
    2
    >>> fastconv.dask.task_threads() is None      # the main thread, outside any worker
    True
    """
    if num_threads is not None:
        return effective_n_threads(num_threads)
    workers = _worker_threads()
    if workers is None:
        if threading.current_thread() is threading.main_thread():
            return None
        import dask
        workers = dask.config.get("num_workers", None) or _cores()
    return max(1, _cores() // max(1, int(workers)))


@contextlib.contextmanager
def threads_for_task(num_threads=None):
    """Run the body with the OpenMP thread count of :func:`task_threads`."""
    n = task_threads(num_threads)
    if n is None:
        yield None
        return
    with _controller().limit(limits=n, user_api="openmp"):
        yield n
