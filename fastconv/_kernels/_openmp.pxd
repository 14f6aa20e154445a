# The one place for OpenMP in fastconv's kernels.
#
# When the extension is compiled without OpenMP (no -fopenmp: _OPENMP is not
# defined) these declarations fall back to serial stand-ins, so the kernels
# still build and run on one thread. ``OPENMP_ENABLED`` in _openmp.pyx tells
# which of the two was compiled in; the build warns loudly when it is the shim.
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
