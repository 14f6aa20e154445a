"""OpenMP facts of this build, and the guard of every parallel region.

``OPENMP_ENABLED``, :func:`openmp_max_threads` and :func:`openmp_num_procs`
are read by ``fastconv._threads`` and ``show_config``.

``team_begin`` / ``team_end`` (cimported by every kernel module, see
``runtime.h``) decide how many threads a parallel region runs on, poll for
Ctrl-C, check the per-thread workspaces' allocations and turn a stop into
the Python exception. The thread count of a region is the caller's request
(``fastconv.get_num_threads()``), reduced:

* to 1 for a problem of fewer than ``MIN_PARALLEL_WORK`` multiply-adds (or
  a single work item): it starts no parallel region at all;
* to 1 in a process forked (``os.fork``, ``multiprocessing``'s ``fork``
  start method) from a process that had imported fastconv: the child never
  touches the parent's OpenMP thread pool, whose threads do not exist in
  the child (libgomp would wait for them forever);
* to a share of the request when other calls are in flight in other Python
  threads: with ``T`` requested and ``k`` calls in flight (this one
  included), a call gets ``max(1, min(T // k, T - threads already
  granted))``, so the OpenMP threads that fastconv runs beyond the callers'
  own stay below ``T``.
"""
from cpython.exc cimport PyErr_NoMemory, PyErr_Occurred
from libc.stdint cimport int64_t
from libc.stdlib cimport calloc, free

from fastconv._kernels._openmp cimport (
    FASTCONV_OPENMP_ENABLED, omp_get_max_threads, omp_get_num_procs, fc_team)

cdef extern from *:
    """
    #include <pthread.h>
    #include <time.h>

    /* Process-wide state, shared by every kernel module through team_begin/end. */
    static int fc_forked = 0;            /* this process is a forked child */
    static int fc_active = 0;            /* parallel-region calls in flight */
    static int fc_in_use = 0;            /* threads granted to them */
    static int fc_fail_next = 0;         /* test hook: calls whose workspaces fail */
    static int64_t fc_interval_ns = 50000000;
    static unsigned long fc_main_ident = 0;

    /* In the child of a fork: the parent's pool threads and calls in flight
     * do not exist here. Only plain stores (no OpenMP call, no lock). */
    static void fc_atfork_child(void)
    {
        fc_forked = 1;
        fc_active = 0;
        fc_in_use = 0;
        fc_main_ident = PyThread_get_thread_ident();
    }

    static int fc_register_atfork(void)
    {
        return pthread_atfork(NULL, NULL, fc_atfork_child);
    }

    /* Grant up to `want` threads (want <= total) out of `total` to a new call. */
    static int fc_budget_acquire(int want, int total)
    {
        const int calls = __atomic_add_fetch(&fc_active, 1, __ATOMIC_ACQ_REL);
        int used = __atomic_load_n(&fc_in_use, __ATOMIC_RELAXED);
        int fair = total / calls;
        if (want > fair) want = fair;
        for (;;) {
            int grant = want < total - used ? want : total - used;
            if (grant < 1) grant = 1;
            if (__atomic_compare_exchange_n(&fc_in_use, &used, used + grant, 1,
                                            __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
                return grant;
        }
    }

    static void fc_budget_release(int grant)
    {
        __atomic_sub_fetch(&fc_in_use, grant, __ATOMIC_ACQ_REL);
        __atomic_sub_fetch(&fc_active, 1, __ATOMIC_ACQ_REL);
    }

    /* One from the test hook's count, if any is left. */
    static int fc_take_failure(void)
    {
        int left = __atomic_load_n(&fc_fail_next, __ATOMIC_RELAXED);
        while (left > 0)
            if (__atomic_compare_exchange_n(&fc_fail_next, &left, left - 1, 1,
                                            __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
                return 1;
        return 0;
    }
    """
    int fc_forked
    int fc_active
    int fc_in_use
    int fc_fail_next
    int64_t fc_interval_ns
    unsigned long fc_main_ident
    int fc_register_atfork()
    int fc_budget_acquire(int want, int total) noexcept nogil
    void fc_budget_release(int grant) noexcept nogil
    int fc_take_failure() noexcept nogil
    unsigned long PyThread_get_thread_ident()

cdef extern from "runtime.h" nogil:
    int64_t fc_now_ns()
    int FC_TEAM_NOMEM

#: True when the kernels were compiled with OpenMP (False: the serial shim).
OPENMP_ENABLED = bool(FASTCONV_OPENMP_ENABLED)

#: Multiply-adds (or element operations) below which a kernel runs on the
#: calling thread alone: about 10 microseconds of work on one core, where
#: waking a second thread and joining it would cost as much as it saves.
MIN_PARALLEL_WORK = 1 << 17


def _set_main_thread():
    import threading
    global fc_main_ident
    fc_main_ident = <unsigned long>threading.main_thread().ident


_set_main_thread()
if fc_register_atfork() != 0:  # pragma: no cover - pthread_atfork only fails on ENOMEM
    raise MemoryError("fastconv: pthread_atfork could not register the fork handler")


cdef int team_begin(fc_team *t, int requested, double work, int64_t items,
                    size_t workspace_bytes) except -1:
    """Start a parallel region's guard (the GIL held); see runtime.h."""
    cdef int want = requested if requested > 1 else 1
    if fc_forked or work < MIN_PARALLEL_WORK or items < 2:
        want = 1
    elif want > items:
        want = <int>items
    t.stop = 0
    t.status = 0
    t.ws = NULL
    t.ws_bytes = workspace_bytes
    t.fail_alloc = fc_take_failure() if workspace_bytes else 0
    t.poll = PyThread_get_thread_ident() == fc_main_ident
    t.interval_ns = fc_interval_ns
    t.next_poll_ns = fc_now_ns() + fc_interval_ns
    t.threads = fc_budget_acquire(want, requested if requested > want else want)
    if workspace_bytes:
        t.ws = <void **>calloc(t.threads, sizeof(void *))
        if t.ws == NULL:
            fc_budget_release(t.threads)
            PyErr_NoMemory()
            return -1
    return 0


cdef int team_end(fc_team *t) except -1:
    """End a parallel region's guard (the GIL held): free the workspaces,
    give the threads back, raise what stopped the team."""
    cdef int i
    if t.ws != NULL:
        for i in range(t.threads):
            free(t.ws[i])
        free(t.ws)
        t.ws = NULL
    fc_budget_release(t.threads)
    if PyErr_Occurred():          # a signal handler raised (KeyboardInterrupt)
        return -1
    if t.status == FC_TEAM_NOMEM:
        raise MemoryError(f"fastconv: a thread's workspace of {t.ws_bytes} bytes could not be "
                          f"allocated")
    return 0


def openmp_max_threads():
    """Return ``omp_get_max_threads()`` as the OpenMP runtime sees it now.

    It follows ``OMP_NUM_THREADS`` and limits set through threadpoolctl. Always 1
    in a build without OpenMP.
    """
    return int(omp_get_max_threads())


def openmp_num_procs():
    """Return ``omp_get_num_procs()``: the processors available to this process."""
    return int(omp_get_num_procs())


def forked_child():
    """True in a process forked after fastconv was imported (its kernels run serially)."""
    return bool(fc_forked)


def budget():
    """The parallel-region calls in flight and the threads granted to them, now."""
    return {"calls": int(fc_active), "threads": int(fc_in_use)}


def _set_signal_interval(seconds):
    """Test hook: seconds between two signal checks of a running kernel (default
    0.05); returns the previous value."""
    global fc_interval_ns
    previous = fc_interval_ns / 1e9
    fc_interval_ns = <int64_t>(float(seconds) * 1e9)
    return previous


def _fail_workspaces(int calls):
    """Test hook: the per-thread workspace allocations of the next ``calls``
    kernel calls that use workspaces fail (inside their parallel region)."""
    global fc_fail_next
    fc_fail_next = calls
