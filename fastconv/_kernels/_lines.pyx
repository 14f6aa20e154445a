"""1-D filter passes along one axis of an array, alone or two fused.

The kernels of :mod:`fastconv.ndimage`'s separable filters (lines.h): a
correlation pass (SciPy's summation order; float32 or float64 with fused
multiply-adds, or float64 with SciPy's exact roundings), two passes fused
over the rows of 2-D planes (vertical then horizontal, horizontal then
vertical, or their sum), and the uniform filter's running sum (float64,
bitwise SciPy's). Arrays are seen as ``(outer, L, inner)``, C-contiguous;
every pass reads its input through an index map (boundary rule and origin).

The work is split over OpenMP threads in items that own disjoint outputs and
form each output the same way wherever it lies, so results are bitwise
identical for any thread count.
"""
from libc.stdint cimport int64_t, intptr_t
from cython.parallel cimport prange

import numpy as np

from fastconv._kernels._openmp cimport (
    omp_get_thread_num, fc_team, fc_team_stop, fc_team_workspace, team_begin, team_end)

cdef extern from "lines.h" nogil:
    ctypedef struct fc_lpass:
        int64_t K
        int64_t off
        int sym
        const void *w
        const int64_t *map
        double cval
    ctypedef struct fc_lshape:
        int64_t outer, L, inner, RB, CB, nt
    int fc_lines_level(int level)
    int64_t fc_lines_corr_items(const fc_lshape *s)
    int64_t fc_lines_corr_ws(const fc_lshape *s, int64_t K, int flavour)
    void fc_lines_corr(int level, int flavour, const fc_lshape *s, const fc_lpass *p,
                       const void *x, void *out, int64_t item, void *ws)
    int64_t fc_lines_fused_items(const fc_lshape *s)
    int64_t fc_lines_fused_ws(const fc_lshape *s, int64_t Kv, int64_t Kh, int flavour)
    void fc_lines_fused(int level, int flavour, const fc_lshape *s, const fc_lpass *first,
                        const fc_lpass *second, int vfirst, int combine, const void *x,
                        void *out, int64_t item, void *ws)
    int64_t fc_lines_uniform_items(const fc_lshape *s)
    int64_t fc_lines_uniform_ws(const fc_lshape *s, int64_t K)
    void fc_lines_uniform(int level, int f32, const fc_lshape *s, int64_t K, int64_t off,
                          const int64_t *map, double cval, const void *x, void *out,
                          int64_t item, void *ws)
    int64_t fc_lines_uniform2d_ws(const fc_lshape *s, int64_t Kh)
    void fc_lines_uniform2d(int level, int f32, const fc_lshape *s, int64_t Kv, int64_t offv,
                            const int64_t *mapv, int64_t Kh, int64_t offh, const int64_t *maph,
                            double cval, const void *x, void *out, int64_t splits,
                            int64_t item, void *ws)

#: The flavours of a correlation pass (lines.h).
F32, F64, F64_EXACT = 0, 1, 2
#: How two fused passes combine: second(first(x)), or first(x) + second(x).
COMPOSE, SUM = 0, 1
#: From this many vertical taps on, the fused kernel works in bands of rows
#: (below, row by row): FC_LINES_COPY_TAPS of lines.c.
COPY_TAPS = 6
#: Positions along a contiguous line per item (a long 1-D signal is split).
LINE_ITEM = 4096
#: Rows by columns per item of a pass across rows (a column strip is split
#: into items of ROWS_ITEM rows; the kernel walks an item in narrower blocks
#: whose input row segments stay in the L1 cache).
ROWS_ITEM, COLS_ITEM = 32, 2048
#: Columns per item of the uniform pass across rows (its running sums go
#: down whole columns): at least this many, or the columns shared evenly
#: among the threads, in long stretches the hardware prefetches well.
UNIFORM_COLS = 512

_DTYPES = {F32: np.dtype(np.float32), F64: np.dtype(np.float64),
           F64_EXACT: np.dtype(np.float64)}


cdef intptr_t _addr(a):
    return <intptr_t>a.__array_interface__["data"][0]


def _check(x, out, int flavour, Py_ssize_t length):
    dtype = _DTYPES[flavour]
    if x.dtype != dtype or out.dtype != dtype:
        raise ValueError(f"_lines: arrays of {dtype} expected, got {x.dtype} and {out.dtype}")
    if x.ndim != 3 or out.shape != x.shape:
        raise ValueError(f"_lines: (outer, L, inner) arrays of one shape expected, got "
                         f"{x.shape} and {out.shape}")
    if not (x.flags.c_contiguous and out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("_lines: C-contiguous arrays (a writeable output) expected")
    if length != x.shape[1]:
        raise ValueError("_lines: the pass does not match the array's axis")


cdef class Pass:
    """One correlation pass: taps, index map, symmetry flag and cval."""
    cdef fc_lpass p
    cdef object w, map

    def __init__(self, w, imap, int64_t off, int sym, double cval):
        self.w = np.ascontiguousarray(w)
        self.map = np.ascontiguousarray(imap, dtype=np.int64)
        if self.w.ndim != 1 or self.w.size < 1:
            raise ValueError("_lines.Pass: a 1-D array of taps expected")
        self.p.K = self.w.size
        self.p.off = off
        self.p.sym = sym
        self.p.w = <const void *>_addr(self.w)
        self.p.map = <const int64_t *>_addr(self.map)
        self.p.cval = cval

    @property
    def length(self):
        """The length of the axis the pass runs along."""
        return self.map.size - self.w.size + 1

    @property
    def dtype(self):
        return self.w.dtype


cdef fc_lshape _shape(x, int64_t RB, int64_t CB, bint nt=False):
    cdef fc_lshape s
    s.outer, s.L, s.inner = x.shape[0], x.shape[1], x.shape[2]
    s.RB, s.CB = max(RB, 1), max(CB, 1)
    s.nt = nt
    return s


def corr(x, Pass p, out, int flavour, int num_threads, int isa, bint streaming=False):
    """One correlation pass along axis 1 of ``x`` ``(outer, L, inner)`` into ``out``.

    ``streaming``: store the result non-temporally (bypassing the caches: a
    large result that is not read again soon); it must not overlap ``x``.
    """
    _check(x, out, flavour, p.length)
    if p.dtype != _DTYPES[flavour]:
        raise ValueError("_lines.corr: the taps' dtype does not match the flavour")
    if np.shares_memory(x, out):
        raise ValueError("_lines.corr: out must not overlap x")
    if x.size == 0:
        return out
    cdef fc_lshape s = _shape(x, LINE_ITEM if x.shape[2] == 1 else ROWS_ITEM, COLS_ITEM,
                              streaming)
    cdef int64_t items = fc_lines_corr_items(&s)
    cdef int64_t wsz = fc_lines_corr_ws(&s, p.p.K, flavour)
    cdef char *wsp
    cdef const void *xp = <const void *>_addr(x)
    cdef void *op = <void *>_addr(out)
    cdef int level = fc_lines_level(isa)
    cdef int64_t t
    cdef fc_team team
    team_begin(&team, num_threads, <double>x.size * p.p.K, items, wsz)
    for t in prange(items, nogil=True, num_threads=team.threads, schedule="dynamic",
                    use_threads_if=team.threads > 1):
        if fc_team_stop(&team):
            continue
        wsp = <char *>fc_team_workspace(&team, omp_get_thread_num())
        if wsp == NULL:
            continue
        fc_lines_corr(level, flavour, &s, &p.p, xp, op, t, wsp)
    team_end(&team)
    return out


def fused(x, Pass first, Pass second, out, bint vfirst, int combine, int flavour,
          int num_threads, int isa, int64_t rows_per_item, bint streaming=False):
    """Two passes on the planes ``(outer, H, W)`` of ``x``, into ``out``.

    ``vfirst``: ``first`` runs along H (vertical) and ``second`` along W, else
    the reverse; ``combine``: :data:`COMPOSE` (``second(first(x))``) or
    :data:`SUM` (``first(x) + second(x)``); ``streaming`` as in :func:`corr`.
    """
    pv, ph = (first, second) if vfirst else (second, first)
    _check(x, out, flavour, pv.length)
    if ph.length != x.shape[2]:
        raise ValueError("_lines.fused: the horizontal pass does not match the rows")
    if first.dtype != _DTYPES[flavour] or second.dtype != _DTYPES[flavour]:
        raise ValueError("_lines.fused: the taps' dtype does not match the flavour")
    if x.size == 0:
        return out
    if np.shares_memory(x, out):
        raise ValueError("_lines.fused: out must not overlap x")
    cdef fc_lshape s = _shape(x, rows_per_item, 1, streaming)
    cdef int64_t items = fc_lines_fused_items(&s)
    cdef int64_t wsz = fc_lines_fused_ws(&s, pv.p.K, ph.p.K, flavour)
    cdef char *wsp
    cdef const void *xp = <const void *>_addr(x)
    cdef void *op = <void *>_addr(out)
    cdef int level = fc_lines_level(isa)
    cdef int vf = vfirst
    cdef int64_t t
    cdef fc_team team
    team_begin(&team, num_threads, <double>x.size * (pv.p.K + ph.p.K), items, wsz)
    for t in prange(items, nogil=True, num_threads=team.threads, schedule="dynamic",
                    use_threads_if=team.threads > 1):
        if fc_team_stop(&team):
            continue
        wsp = <char *>fc_team_workspace(&team, omp_get_thread_num())
        if wsp == NULL:
            continue
        fc_lines_fused(level, flavour, &s, &first.p, &second.p, vf, combine, xp, op, t,
                       wsp)
    team_end(&team)
    return out


def uniform(x, int64_t size, imap, int64_t off, double cval, out, int num_threads, int isa):
    """The uniform pass of ``size`` taps along axis 1 of ``x`` (float32 or float64);
    ``imap``/``off`` as for :class:`Pass`."""
    imap = np.ascontiguousarray(imap, dtype=np.int64)
    f32 = x.dtype == np.float32
    _check(x, out, F32 if f32 else F64, imap.size - size + 1)
    if x.size == 0:
        return out
    cdef fc_lshape s = _shape(x, 1, max(UNIFORM_COLS, -(-x.shape[2] // max(num_threads, 1))))
    cdef int64_t items = fc_lines_uniform_items(&s)
    cdef int64_t wsz = fc_lines_uniform_ws(&s, size)
    cdef char *wsp
    cdef const void *xp = <const void *>_addr(x)
    cdef void *op = <void *>_addr(out)
    cdef const int64_t *mp = <const int64_t *>_addr(imap)
    cdef int level = fc_lines_level(isa)
    cdef int isf32 = f32
    cdef int64_t t
    cdef fc_team team
    team_begin(&team, num_threads, <double>x.size * size, items, wsz)
    for t in prange(items, nogil=True, num_threads=team.threads, schedule="dynamic",
                    use_threads_if=team.threads > 1):
        if fc_team_stop(&team):
            continue
        wsp = <char *>fc_team_workspace(&team, omp_get_thread_num())
        if wsp == NULL:
            continue
        fc_lines_uniform(level, isf32, &s, size, off, mp, cval, xp, op, t, wsp)
    team_end(&team)
    return out


def uniform2d(x, int64_t size_v, imap_v, int64_t off_v, int64_t size_h, imap_h, int64_t off_h,
              double cval, out, int num_threads, int isa):
    """Two uniform passes fused on the planes ``(outer, H, W)`` of ``x`` (float32
    or float64): ``size_v`` taps along H, then ``size_h`` along W (index maps
    and offsets as for :class:`Pass`), into ``out`` (not ``x``).

    A plane is shared among the threads when there are fewer planes than
    threads: a share first runs the vertical sums down to its first row, so
    that every output is the same whatever the share.
    """
    imap_v = np.ascontiguousarray(imap_v, dtype=np.int64)
    imap_h = np.ascontiguousarray(imap_h, dtype=np.int64)
    f32 = x.dtype == np.float32
    _check(x, out, F32 if f32 else F64, imap_v.size - size_v + 1)
    if imap_h.size - size_h + 1 != x.shape[2]:
        raise ValueError("_lines.uniform2d: the horizontal pass does not match the rows")
    if np.shares_memory(x, out):
        raise ValueError("_lines.uniform2d: out must not overlap x")
    if x.size == 0:
        return out
    cdef fc_lshape s = _shape(x, 1, 1)
    cdef int64_t splits = 1 if x.shape[0] >= num_threads else max(num_threads, 1)
    cdef int64_t items = x.shape[0] * splits
    cdef int64_t wsz = fc_lines_uniform2d_ws(&s, size_h)
    cdef char *wsp
    cdef const void *xp = <const void *>_addr(x)
    cdef void *op = <void *>_addr(out)
    cdef const int64_t *mv = <const int64_t *>_addr(imap_v)
    cdef const int64_t *mh = <const int64_t *>_addr(imap_h)
    cdef int level = fc_lines_level(isa)
    cdef int isf32 = f32
    cdef int64_t t
    cdef fc_team team
    team_begin(&team, num_threads, <double>x.size * (size_v + size_h), items, wsz)
    for t in prange(items, nogil=True, num_threads=team.threads, schedule="dynamic",
                    use_threads_if=team.threads > 1):
        if fc_team_stop(&team):
            continue
        wsp = <char *>fc_team_workspace(&team, omp_get_thread_num())
        if wsp == NULL:
            continue
        fc_lines_uniform2d(level, isf32, &s, size_v, off_v, mv, size_h, off_h, mh, cval, xp,
                           op, splits, t, wsp)
    team_end(&team)
    return out
