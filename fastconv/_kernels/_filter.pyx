"""Single-channel filter kernel: the image (and signal) case of correlate.

One 2-D array is correlated with one 2-D kernel over a virtual padded image
described by two index maps, so every boundary rule of
:func:`fastconv.correlate` is handled without padding the input in memory
(1-D signals are one-row images). The work is split over OpenMP threads in
blocks of output rows and columns; each output element sums its products in
an order fixed by the problem, so results are bitwise identical for any
thread count.
"""
cimport numpy as cnp
from libc.stdint cimport int64_t
from cython.parallel cimport prange

from fastconv._kernels._ndarray cimport array_data, dim

from fastconv._kernels._fused cimport floating
from fastconv._kernels._openmp cimport (
    omp_get_thread_num, fc_team, fc_team_stop, fc_team_workspace, team_begin, team_end)

from fastconv._kernels.kernels cimport fc_fgeom, fc_filter_level, filter_item

cnp.import_array()

#: Output rows per work item (the item's input rows are copied at most once).
ROWS_PER_ITEM = 16
#: Output columns per work item: a long row (a 1-D signal) is split so that the
#: item's buffered input stays in the L2 cache and the threads share the work.
COLS_PER_ITEM = 4096


def filter2d(cnp.ndarray x not None, cnp.ndarray w not None, cnp.ndarray out not None,
             cnp.ndarray rmap not None, cnp.ndarray cmap not None, int64_t padl, double fill,
             int num_threads, int isa):
    """Correlate ``x`` with ``w`` over a virtual padded image, into ``out``.

    ``out[i, j] = sum_{p, q} w[p, q] * P[i + p, j + q]`` where
    ``P[r, c] = x[rmap[r], xc]`` with ``xc = c - padl`` when that is a column
    of ``x`` and ``xc = cmap[c]`` otherwise; a map entry of -1 stands for
    ``fill``. Every element of ``out`` is written.

    Parameters
    ----------
    x : (H, W) array, C-contiguous float32 or float64
    w : (KH, KW) array of the same dtype, C-contiguous
    out : (OH, OW) array of the same dtype, C-contiguous and writeable
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
    cdef int typenum = cnp.PyArray_TYPE(x)
    if typenum != cnp.NPY_FLOAT32 and typenum != cnp.NPY_FLOAT64:
        raise ValueError(f"filter2d computes in float32 or float64, got x of dtype {(<object>x).dtype}")
    cdef const char *xp = array_data(x, 2, typenum, False, "x")
    cdef const char *wp = array_data(w, 2, typenum, False, "w")
    cdef char *op = array_data(out, 2, typenum, True, "out")
    cdef const int64_t *rp = <const int64_t *>array_data(rmap, 1, cnp.NPY_INT64, False, "rmap")
    cdef const int64_t *cp = <const int64_t *>array_data(cmap, 1, cnp.NPY_INT64, False, "cmap")
    cdef fc_fgeom g
    g.H, g.W = dim(x, 0), dim(x, 1)
    g.KH, g.KW = dim(w, 0), dim(w, 1)
    g.OH, g.OW = dim(out, 0), dim(out, 1)
    g.padl = padl
    if g.OH == 0 or g.OW == 0:
        return
    if dim(rmap, 0) != g.OH + g.KH - 1 or dim(cmap, 0) != g.OW + g.KW - 1:
        raise ValueError("filter2d: the index maps do not match the output and kernel")
    if g.H == 0 or g.W == 0 or g.KH == 0 or g.KW == 0:
        raise ValueError(f"filter2d: empty x {(<object>x).shape} or w {(<object>w).shape}")
    if typenum == cnp.NPY_FLOAT32:
        _filter2d(&g, <const float *>xp, <const float *>wp, <float *>op, rp, cp, <float>fill,
                  num_threads, isa)
    else:
        _filter2d(&g, <const double *>xp, <const double *>wp, <double *>op, rp, cp, fill,
                  num_threads, isa)


cdef int _filter2d(fc_fgeom *g, const floating *xp, const floating *wp, floating *op,
                   const int64_t *rp, const int64_t *cp, floating fv, int num_threads,
                   int isa) except -1:
    g.RI = min(<int64_t>ROWS_PER_ITEM, g.OH)
    g.CI = min(<int64_t>COLS_PER_ITEM, g.OW)
    cdef int64_t nitems = ((g.OH + g.RI - 1) // g.RI) * ((g.OW + g.CI - 1) // g.CI)
    cdef int64_t nin = g.RI + g.KH - 1
    cdef int64_t bufsize = nin * (g.CI + g.KW - 1)
    # Per-thread workspace: the item's input window, then its row pointers.
    cdef int64_t bufbytes = (bufsize * sizeof(floating) + 63) // 64 * 64
    cdef int level = fc_filter_level(isa)
    cdef int64_t t
    cdef int tid
    cdef char *wsp
    cdef fc_team team
    team_begin(&team, num_threads, <double>g.OH * g.OW * g.KH * g.KW, nitems,
               bufbytes + nin * sizeof(void *))
    for t in prange(nitems, nogil=True, num_threads=team.threads, schedule="dynamic",
                    use_threads_if=team.threads > 1):
        if fc_team_stop(&team):
            continue
        tid = omp_get_thread_num()
        wsp = <char *>fc_team_workspace(&team, tid)
        if wsp == NULL:
            continue
        filter_item(level, g, xp, wp, op, rp, cp, fv, t, <floating *>wsp,
                    <const floating **>(wsp + bufbytes))
    team_end(&team)
    return 0
