"""Convolution kernels: the direct and the im2col (implicit GEMM) algorithms.

Both take channels-first, C-contiguous 5-D arrays of one floating dtype (the
Python layer views 1-D and 2-D problems with leading spatial dims of size 1
and applies non-zero padding modes itself), write every element of ``out``
and never allocate inside their parallel loops.

Work is split over OpenMP threads in items that each own a disjoint part of
the output, and every output element is summed in an order fixed by the
problem alone: results are bitwise identical for any thread count.
"""
from libc.stdint cimport int64_t
from cython.parallel cimport prange

import numpy as np

from fastconv._kernels._fused cimport floating
from fastconv._kernels._openmp cimport omp_get_thread_num
# The GEMM's C functions (gemm.c is compiled into this extension too); the
# SIMD level is passed explicitly, so no state is shared with _gemm.
from fastconv._kernels._gemm cimport (
    fc_gemm_nr_at, fc_packed_a_size_at, fc_pack_a_f32_at, fc_pack_a_f64_at,
    fc_gemm_packed_f32_at, fc_gemm_packed_f64_at)

cdef extern from "conv.h" nogil:
    ctypedef struct fc_geom:
        int64_t N, C, D, H, W
        int64_t Co, groups, Cg, Cog
        int64_t KD, KH, KW
        int64_t OD, OH, OW
        int64_t sd, sh, sw
        int64_t pd, ph, pw
        int64_t dd, dh, dw
    int FC_DIRECT_OCB
    void fc_direct_item_f32(int level, const fc_geom *g, const float *x, const float *w,
                            const float *bias, float *out, const float *zrow,
                            int64_t n, int64_t grp, int64_t oc0, int64_t nb,
                            int64_t od, int64_t oh)
    void fc_direct_item_f64(int level, const fc_geom *g, const double *x, const double *w,
                            const double *bias, double *out, const double *zrow,
                            int64_t n, int64_t grp, int64_t oc0, int64_t nb,
                            int64_t od, int64_t oh)
    int FC_DEPTHWISE_ROWS
    void fc_depthwise_item_f32(int level, const fc_geom *g, const float *x, const float *w,
                               const float *bias, float *out, const float *zrow,
                               int64_t n, int64_t oc, int64_t od, int64_t oh, int64_t nrows)
    void fc_depthwise_item_f64(int level, const fc_geom *g, const double *x, const double *w,
                               const double *bias, double *out, const double *zrow,
                               int64_t n, int64_t oc, int64_t od, int64_t oh, int64_t nrows)
    void fc_im2col_pack_f32(const fc_geom *g, const float *x, int64_t n, int64_t grp,
                            int64_t p0, int64_t ncols, int64_t nr, float *Bp)
    void fc_im2col_pack_f64(const fc_geom *g, const double *x, int64_t n, int64_t grp,
                            int64_t p0, int64_t ncols, int64_t nr, double *Bp)

#: Bytes of unfolded input one thread packs at a time (the GEMM's B block):
#: about half of a 512 KiB L2 cache, so a block and the weights' panels stay close.
IM2COL_BLOCK_BYTES = 256 * 1024


cdef fc_geom _geometry(tuple xs, tuple ws, tuple os, tuple stride, tuple padding,
                       tuple dilation, int64_t groups):
    cdef fc_geom g
    g.N, g.C, g.D, g.H, g.W = xs
    g.Co = ws[0]
    g.groups = groups
    g.Cg = ws[1]
    g.Cog = g.Co // groups
    g.KD, g.KH, g.KW = ws[2:]
    g.OD, g.OH, g.OW = os[2:]
    g.sd, g.sh, g.sw = stride
    g.pd, g.ph, g.pw = padding
    g.dd, g.dh, g.dw = dilation
    return g


cdef tuple _shape5(Py_ssize_t *shape):
    return (shape[0], shape[1], shape[2], shape[3], shape[4])


cdef inline const floating* _ptr(const floating[::1] a) noexcept nogil:
    # Address of a flat array's first element, NULL when it is empty.
    if a.shape[0] == 0:
        return NULL
    return &a[0]


def direct(const floating[:, :, :, :, ::1] x, const floating[:, :, :, :, ::1] weight,
           bias, floating[:, :, :, :, ::1] out, tuple stride, tuple padding,
           tuple dilation, int64_t groups, int num_threads, int isa):
    """Direct convolution into ``out`` (every element written).

    Work items are (image, group, block of FC_DIRECT_OCB output channels,
    output depth, output row); each computes its block's whole output rows with
    the reduction over (input channel, kd, kh, kw) held in registers. When each
    group has a single input channel (depthwise, with any channel multiplier)
    the items are (image, output channel, output depth, block of
    FC_DEPTHWISE_ROWS output rows) instead, computed segment by segment of
    output columns from copied input windows (see direct_impl.h).

    Parameters
    ----------
    x : (N, C, D, H, W) array
    weight : (Co, C // groups, KD, KH, KW) array
    bias : (Co,) array of the same dtype, or None
    out : (N, Co, OD, OH, OW) array
    stride, padding, dilation : tuple of 3 ints
        ``padding`` is the zero padding before each dim.
    groups, num_threads : int
    isa : int
        SIMD level (``fastconv._kernels._gemm``'s numbering); a level this CPU
        does not support runs the baseline code.
    """
    cdef fc_geom g = _geometry(_shape5(x.shape), _shape5(weight.shape), _shape5(out.shape),
                               stride, padding, dilation, groups)
    dtype = np.float32 if floating is float else np.float64
    cdef const floating[::1] xf = np.asarray(x).reshape(-1)
    cdef const floating[::1] wf = np.asarray(weight).reshape(-1)
    cdef const floating[::1] bf = (np.empty(0, dtype) if bias is None
                                   else np.ascontiguousarray(bias, dtype))
    cdef const floating[::1] zrow = np.zeros(max(g.W, 1), dtype)
    cdef floating[::1] of = np.asarray(out).reshape(-1)
    cdef int64_t ocb = FC_DIRECT_OCB
    cdef int64_t nob = (g.Cog + ocb - 1) // ocb
    cdef int64_t total = g.N * g.groups * nob * g.OD * g.OH
    cdef int64_t t, r, n, grp, ob, od, oh, nb
    cdef const floating *xp = _ptr(xf)
    cdef const floating *wp = _ptr(wf)
    cdef const floating *bp = _ptr(bf)
    cdef const floating *zp = &zrow[0]
    cdef floating *op = &of[0] if of.shape[0] else NULL
    cdef int64_t rows = FC_DEPTHWISE_ROWS
    cdef int64_t nrb = (g.OH + rows - 1) // rows
    if g.Cg == 1:
        total = g.N * g.Co * g.OD * nrb
        for t in prange(total, nogil=True, num_threads=num_threads, schedule="static"):
            r = t
            oh = (r % nrb) * rows
            r = r // nrb
            od = r % g.OD
            r = r // g.OD
            ob = r % g.Co          # the output channel
            n = r // g.Co
            nb = g.OH - oh
            if nb > rows:
                nb = rows
            if floating is float:
                fc_depthwise_item_f32(isa, &g, xp, wp, bp, op, zp, n, ob, od, oh, nb)
            else:
                fc_depthwise_item_f64(isa, &g, xp, wp, bp, op, zp, n, ob, od, oh, nb)
        return out
    if total == 0:
        return out
    for t in prange(total, nogil=True, num_threads=num_threads, schedule="static"):
        r = t
        oh = r % g.OH
        r = r // g.OH
        od = r % g.OD
        r = r // g.OD
        ob = r % nob
        r = r // nob
        grp = r % g.groups
        n = r // g.groups
        nb = g.Cog - ob * ocb
        if nb > ocb:
            nb = ocb
        if floating is float:
            fc_direct_item_f32(isa, &g, xp, wp, bp, op, zp, n, grp,
                               grp * g.Cog + ob * ocb, nb, od, oh)
        else:
            fc_direct_item_f64(isa, &g, xp, wp, bp, op, zp, n, grp,
                               grp * g.Cog + ob * ocb, nb, od, oh)
    return out


def im2col_block_columns(int64_t K, int64_t P, int64_t nr, int64_t itemsize):
    """Output positions per packed block: a multiple of ``nr`` near
    IM2COL_BLOCK_BYTES of unfolded input, at least ``nr``, at most ``P`` rounded up."""
    cdef int64_t nb = (IM2COL_BLOCK_BYTES // max(K * itemsize, 1)) // nr * nr
    cdef int64_t cap = (P + nr - 1) // nr * nr
    return max(nr, min(nb, cap))


def im2col(const floating[:, :, :, :, ::1] x, const floating[:, :, :, :, ::1] weight,
           bias, floating[:, :, :, :, ::1] out, tuple stride, tuple padding,
           tuple dilation, int64_t groups, int num_threads, int isa):
    """im2col convolution as an implicit GEMM into ``out``.

    Per group, ``out[n, group] (Cog x P) = W_g (Cog x K) @ cols (K x P)`` with
    ``K = C/groups * KD*KH*KW`` and ``P = OD*OH*OW``. The unfolded input is
    never built whole: work items (image, group, block of output positions)
    pack their block straight into the GEMM's panel format in a per-thread
    workspace of ``K * block`` elements (see :func:`im2col_block_columns`),
    and multiply it with the group's packed weights; the bias is added in the
    GEMM's epilogue. Extra memory: the packed weights plus one block per thread.

    Parameters are those of :func:`direct`, and ``isa``, the GEMM's SIMD level
    (``fastconv._kernels._gemm``'s numbering), read once per call so packing and
    computing agree.
    """
    cdef fc_geom g = _geometry(_shape5(x.shape), _shape5(weight.shape), _shape5(out.shape),
                               stride, padding, dilation, groups)
    cdef int dt = 0 if floating is float else 1
    dtype = np.float32 if floating is float else np.float64
    cdef int64_t K = g.Cg * g.KD * g.KH * g.KW
    cdef int64_t M = g.Cog
    cdef int64_t P = g.OD * g.OH * g.OW
    cdef int64_t nr = fc_gemm_nr_at(isa, dt)
    cdef int64_t ncolb = im2col_block_columns(K, P, nr, np.dtype(dtype).itemsize)
    cdef int64_t nblk = (P + ncolb - 1) // ncolb
    cdef int64_t total = g.N * g.groups * nblk
    if total == 0 or M == 0:
        return out
    cdef int64_t asz = fc_packed_a_size_at(isa, M, K, dt)
    cdef floating[::1] ap = np.empty(g.groups * asz, dtype)
    cdef floating[:, ::1] ws = np.empty((num_threads, K * ncolb), dtype)
    cdef const floating[::1] xf = np.asarray(x).reshape(-1)
    cdef const floating[::1] wf = np.asarray(weight).reshape(-1)
    cdef const floating[::1] bf = (np.empty(0, dtype) if bias is None
                                   else np.ascontiguousarray(bias, dtype))
    cdef floating[::1] of = np.asarray(out).reshape(-1)
    cdef const floating *xp = _ptr(xf)
    cdef const floating *wp = &wf[0]
    cdef const floating *bp = _ptr(bf)
    cdef floating *op = &of[0]
    cdef floating *app = &ap[0]
    cdef int64_t t, r, n, grp, blk, p0, ncols, tid
    cdef floating *bpk
    cdef floating *cp
    cdef const floating *bias_g

    with nogil:
        for grp in range(g.groups):   # weights packed once per call
            if floating is float:
                fc_pack_a_f32_at(isa, M, K, wp + grp * M * K, K, app + grp * asz)
            else:
                fc_pack_a_f64_at(isa, M, K, wp + grp * M * K, K, app + grp * asz)
    for t in prange(total, nogil=True, num_threads=num_threads, schedule="static"):
        tid = omp_get_thread_num()
        r = t
        blk = r % nblk
        r = r // nblk
        grp = r % g.groups
        n = r // g.groups
        p0 = blk * ncolb
        ncols = P - p0
        if ncols > ncolb:
            ncols = ncolb
        bpk = &ws[tid, 0]
        cp = op + (n * g.Co + grp * M) * P + p0
        bias_g = bp + grp * M if bp != NULL else NULL
        if floating is float:
            fc_im2col_pack_f32(&g, xp, n, grp, p0, ncols, nr, bpk)
            fc_gemm_packed_f32_at(isa, M, ncols, K, app + grp * asz, bpk, cp, P, bias_g, 0)
        else:
            fc_im2col_pack_f64(&g, xp, n, grp, p0, ncols, nr, bpk)
            fc_gemm_packed_f64_at(isa, M, ncols, K, app + grp * asz, bpk, cp, P, bias_g, 0)
    return out
