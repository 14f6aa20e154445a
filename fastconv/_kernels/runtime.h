/* fastconv: the guard every parallel region of the kernels runs under.
 *
 * A kernel entry point (Cython, _kernels/_*.pyx) brackets its parallel loop
 * with team_begin / team_end (fastconv._kernels._openmp) and calls, in the
 * loop, fc_team_stop before each work item (and inside items that can be
 * long) and fc_team_workspace for its per-thread scratch memory:
 *
 *   cdef fc_team team
 *   team_begin(&team, num_threads, work, items, workspace_bytes)   # GIL held
 *   for t in prange(items, nogil=True, num_threads=team.threads, schedule="dynamic",
 *                   use_threads_if=team.threads > 1):
 *       if fc_team_stop(&team): continue
 *       buf = fc_team_workspace(&team, omp_get_thread_num())
 *       if buf == NULL: continue
 *       ...
 *   team_end(&team)    # GIL held: frees the workspaces, raises if stopped
 *
 * What it does:
 *
 * - Ctrl-C. The kernels run without the GIL. The calling thread (OpenMP
 *   thread 0) looks at a monotonic clock before each item; every
 *   interval_ns (50 ms) it takes the GIL and runs Python's pending signal
 *   handlers (PyErr_CheckSignals). If one raises (KeyboardInterrupt for
 *   SIGINT), the team stops: every thread skips the items left, team_end
 *   frees the workspaces and the exception propagates. Only the main
 *   thread polls (Python runs signal handlers there and nowhere else); a
 *   call shorter than one interval never takes the GIL. The loops are
 *   scheduled dynamically, so thread 0 keeps taking items until the last
 *   one is handed out: the reaction time is at most an interval plus one
 *   item. (With a static schedule thread 0 could finish its share early,
 *   on a loaded machine seconds before the others, and stop polling.)
 * - Allocation failure. Per-thread workspaces are allocated by their own
 *   thread on its first item (first touch), 64-byte aligned, and checked: a
 *   failure stops the team like a signal and team_end raises MemoryError.
 * - The thread count (threads): granted by team_begin from the caller's
 *   request, the size of the problem, the calls in flight in other threads
 *   and whether this process is a forked child (see _openmp.pyx).
 *
 * stop and status are written by any thread, atomically; the other fields
 * are written by team_begin, or by thread 0 only (next_poll_ns).
 */
#ifndef FASTCONV_RUNTIME_H
#define FASTCONV_RUNTIME_H

#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum { FC_TEAM_OK = 0, FC_TEAM_SIGNAL = 1, FC_TEAM_NOMEM = 2 };
#define FC_WORKSPACE_ALIGN 64

typedef struct {
    int threads;            /* threads this region runs on */
    int poll;               /* thread 0 runs Python's signal handlers (main thread) */
    int stop;               /* set once: every thread skips the items left */
    int status;             /* the first reason to stop (FC_TEAM_*) */
    int fail_alloc;         /* test hook: every workspace allocation fails */
    int64_t interval_ns;    /* between two signal checks */
    int64_t next_poll_ns;   /* the next check (thread 0 only) */
    void **ws;              /* per-thread workspaces, NULL until first use */
    size_t ws_bytes;
} fc_team;

static inline int64_t fc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int fc_team_thread(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Stop the team for `status`; the first reason given is kept. */
static inline void fc_team_halt(fc_team *t, int status)
{
    int ok = FC_TEAM_OK;
    __atomic_compare_exchange_n(&t->status, &ok, status, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    __atomic_store_n(&t->stop, 1, __ATOMIC_RELEASE);
}

/* 1 when the team has stopped: skip the work item. */
static inline int fc_team_stop(fc_team *t)
{
    if (__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE))
        return 1;
    if (t->poll && fc_team_thread() == 0) {
        const int64_t now = fc_now_ns();
        if (now >= t->next_poll_ns) {
            PyGILState_STATE gil;
            int raised;
            t->next_poll_ns = now + t->interval_ns;
            gil = PyGILState_Ensure();
            raised = PyErr_CheckSignals() < 0;
            PyGILState_Release(gil);
            if (raised) {
                fc_team_halt(t, FC_TEAM_SIGNAL);
                return 1;
            }
        }
    }
    return 0;
}

/* Thread `tid`'s workspace of ws_bytes, allocated on its first use; NULL
 * (and the team stopped) when the allocation fails. */
static inline void *fc_team_workspace(fc_team *t, int tid)
{
    void *p = t->ws[tid];
    if (p == NULL) {
        if (t->fail_alloc
            || posix_memalign(&p, FC_WORKSPACE_ALIGN, t->ws_bytes ? t->ws_bytes : 1) != 0) {
            fc_team_halt(t, FC_TEAM_NOMEM);
            return NULL;
        }
        t->ws[tid] = p;
    }
    return p;
}

#endif
