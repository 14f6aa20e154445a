# The one place for OpenMP in fastconv's kernels.
#
# When the extension is compiled without OpenMP (no -fopenmp: _OPENMP is not
# defined) these declarations fall back to serial stand-ins, so the kernels
# still build and run on one thread. ``OPENMP_ENABLED`` in _openmp.pyx tells
# which of the two was compiled in; the build warns loudly when it is the shim.
from libc.stdint cimport int64_t

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define FASTCONV_OPENMP_ENABLED 1
    #else
    #define FASTCONV_OPENMP_ENABLED 0
    static int omp_get_max_threads(void) { return 1; }
    static int omp_get_thread_num(void) { return 0; }
    static int omp_get_num_procs(void) { return 1; }
    #endif
    """
    bint FASTCONV_OPENMP_ENABLED
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil
    int omp_get_num_procs() noexcept nogil

# The guard of every parallel region (runtime.h): thread count, Ctrl-C,
# per-thread workspaces. team_begin and team_end are exported by
# fastconv._kernels._openmp, so every kernel module shares one budget.
cdef extern from "runtime.h" nogil:
    ctypedef struct fc_team:
        int threads
        int poll
        int stop
        int status
        int fail_alloc
        int64_t interval_ns
        int64_t next_poll_ns
        void **ws
        size_t ws_bytes
    bint fc_team_stop(fc_team *t)
    void *fc_team_workspace(fc_team *t, int tid)

cdef int team_begin(fc_team *t, int requested, double work, int64_t items,
                    size_t workspace_bytes) except -1
cdef int team_end(fc_team *t) except -1

# Items per run of a dynamic schedule over `items` equal work items: runs of
# several items when the items are many (small maps: a 7 x 7 plane is less
# work than the shared counter of a dynamic schedule costs when two cores
# take turns at it), with CHUNKS_PER_THREAD runs per thread so the threads'
# shares stay even. Measured on the depthwise kernels at 2 threads (same
# process, alternating): 0.74-0.87x the time of one item per run on 7 x 7
# and 14 x 14 maps, 0.9-1.0x on larger ones.
cdef enum:
    CHUNKS_PER_THREAD = 16

cdef inline int64_t schedule_chunk(int64_t items, int threads) noexcept nogil:
    cdef int64_t chunk = items // (<int64_t>threads * CHUNKS_PER_THREAD)
    return chunk if chunk > 1 else 1
