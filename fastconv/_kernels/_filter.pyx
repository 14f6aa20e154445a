"""Single-channel filter kernel: the image (and signal) case of correlate.

One 2-D array is correlated with one 2-D kernel over a virtual padded image
described by two index maps, so every boundary rule of
:func:`fastconv.correlate` is handled without padding the input in memory
(1-D signals are one-row images). The work is split over OpenMP threads in
blocks of output rows and columns; each output element sums its products in
an order fixed by the problem, so results are bitwise identical for any
thread count.
"""
from libc.stdint cimport int64_t
from cython.parallel cimport prange

import numpy as np

from fastconv._kernels._fused cimport floating
from fastconv._kernels._openmp cimport omp_get_thread_num

from fastconv._kernels.kernels cimport fc_fgeom, fc_filter_level, filter_item

#: Output rows per work item (the item's input rows are copied at most once).
ROWS_PER_ITEM = 16
#: Output columns per work item: a long row (a 1-D signal) is split so that the
#: item's buffered input stays in the L2 cache and the threads share the work.
COLS_PER_ITEM = 4096


def filter2d(const floating[:, ::1] x, const floating[:, ::1] w, floating[:, ::1] out,
             const int64_t[::1] rmap, const int64_t[::1] cmap, int64_t padl, double fill,
             int num_threads, int isa):
    """Correlate ``x`` with ``w`` over a virtual padded image, into ``out``.

    ``out[i, j] = sum_{p, q} w[p, q] * P[i + p, j + q]`` where
    ``P[r, c] = x[rmap[r], xc]`` with ``xc = c - padl`` when that is a column
    of ``x`` and ``xc = cmap[c]`` otherwise; a map entry of -1 stands for
    ``fill``. Every element of ``out`` is written.

    Parameters
    ----------
    x : (H, W) array
    w : (KH, KW) array of the same dtype
    out : (OH, OW) array of the same dtype
    rmap : (OH + KH - 1,) int64 array
        x row of each padded row, or -1.
    cmap : (OW + KW - 1,) int64 array
        x column of each padded column, or -1 (read only where
        ``c - padl`` is outside ``x``).
    padl : int
    fill : float
    num_threads : int
    isa : int
        SIMD level (``fastconv._kernels._gemm``'s numbering); a level this CPU
        does not support runs the baseline code.
    """
    cdef fc_fgeom g
    g.H, g.W = x.shape[0], x.shape[1]
    g.KH, g.KW = w.shape[0], w.shape[1]
    g.OH, g.OW = out.shape[0], out.shape[1]
    g.padl = padl
    if g.OH == 0 or g.OW == 0:
        return
    if rmap.shape[0] != g.OH + g.KH - 1 or cmap.shape[0] != g.OW + g.KW - 1:
        raise ValueError("filter2d: the index maps do not match the output and kernel")
    g.RI = min(<int64_t>ROWS_PER_ITEM, g.OH)
    g.CI = min(<int64_t>COLS_PER_ITEM, g.OW)
    cdef int64_t nitems = ((g.OH + g.RI - 1) // g.RI) * ((g.OW + g.CI - 1) // g.CI)
    cdef int nthreads = max(1, min(num_threads, nitems))
    cdef int64_t nin = g.RI + g.KH - 1
    cdef int64_t bufsize = nin * (g.CI + g.KW - 1)
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, ::1] buf = np.empty((nthreads, bufsize), dtype)
    rowp_arr = np.empty((nthreads, nin), np.intp)
    cdef Py_ssize_t[:, ::1] rowp = rowp_arr
    cdef int level = fc_filter_level(isa)
    cdef int64_t t
    cdef int tid
    cdef const floating *xp = &x[0, 0]
    cdef const floating *wp = &w[0, 0]
    cdef floating *op = &out[0, 0]
    cdef const int64_t *rp = &rmap[0]
    cdef const int64_t *cp = &cmap[0]
    cdef floating fv = <floating>fill
    for t in prange(nitems, nogil=True, num_threads=nthreads, schedule="static"):
        tid = omp_get_thread_num()
        filter_item(level, &g, xp, wp, op, rp, cp, fv, t, &buf[tid, 0],
                    <const floating **>&rowp[tid, 0])
