"""OpenMP facts of this build, read by ``fastconv._threads`` and ``show_config``."""
from fastconv._kernels._openmp cimport (
    FASTCONV_OPENMP_ENABLED, omp_get_max_threads, omp_get_num_procs)

#: True when the kernels were compiled with OpenMP (False: the serial shim).
OPENMP_ENABLED = bool(FASTCONV_OPENMP_ENABLED)


def openmp_max_threads():
    """Return ``omp_get_max_threads()`` as the OpenMP runtime sees it now.

    It follows ``OMP_NUM_THREADS`` and limits set through threadpoolctl. Always 1
    in a build without OpenMP.
    """
    return int(omp_get_max_threads())


def openmp_num_procs():
    """Return ``omp_get_num_procs()``: the processors available to this process."""
    return int(omp_get_num_procs())
