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
    FC_DTYPE_F32, FC_DTYPE_F64, fc_gemm_mr_at, fc_gemm_nr_at, fc_packed_a_size_at,
    gemm_ex_at, gemm_packed_at, pack_a_at, pack_b_at)
from fastconv._kernels.kernels cimport (
    FC_DEPTHWISE_ROWS, FC_DIRECT_OCB, depthwise_item, direct_item, fc_geom, fc_wgeom,
    im2col_pack, wino_input, wino_output, wino_weights)

#: Bytes of unfolded input one thread packs at a time (the GEMM's B block):
#: about half of a 512 KiB L2 cache, so a block and the weights' panels stay close.
IM2COL_BLOCK_BYTES = 256 * 1024
#: Rows of the unfolded input (the GEMM's K) packed and multiplied per pass, at
#: most: a pass covers whole input channels. The weights' rows of one pass
#: (C_out/groups x IM2COL_KC) then stay in L2 while the pass's panels meet
#: them, and one KC x NR panel (16 KiB in float32) in L1. Passes chain through
#: ``out`` (each continues the previous one's sums), so the result's bits do
#: not depend on this blocking.
IM2COL_KC = 256
#: The same for the transformed input tiles of the Winograd algorithm.
WINOGRAD_BLOCK_BYTES = 256 * 1024
cdef int64_t WINOGRAD_STRIDE_PAD = 24


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
            depthwise_item(isa, &g, xp, wp, bp, op, zp, n, ob, od, oh, nb)
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
        direct_item(isa, &g, xp, wp, bp, op, zp, n, grp, grp * g.Cog + ob * ocb, nb, od, oh)
    return out


def im2col_block_columns(int64_t K, int64_t P, int64_t nr, int64_t itemsize,
                         int64_t images=1, int64_t threads=1):
    """Output positions per packed block: a multiple of ``nr`` near
    IM2COL_BLOCK_BYTES of unfolded input, at least ``nr``, at most ``P`` rounded up.

    With ``images`` (images x groups) GEMMs of ``P`` columns shared among
    ``threads``, the blocks are evened out so that the number of work items is
    a multiple of ``threads`` when a few more blocks achieve it (13 blocks on 2
    threads leave one idle for a 13th of the time; 14 smaller ones do not).
    """
    cdef int64_t nb = (IM2COL_BLOCK_BYTES // max(K * itemsize, 1)) // nr * nr
    cdef int64_t cap = (P + nr - 1) // nr * nr
    nb = max(nr, min(nb, cap))
    cdef int64_t nblk = (P + nb - 1) // nb, more, cols
    if threads > 1:
        for more in range(threads):
            if (images * (nblk + more)) % threads == 0:
                cols = ((P + nblk + more - 1) // (nblk + more) + nr - 1) // nr * nr
                if (P + cols - 1) // cols == nblk + more:
                    return cols
    return nb


def im2col(const floating[:, :, :, :, ::1] x, const floating[:, :, :, :, ::1] weight,
           bias, floating[:, :, :, :, ::1] out, tuple stride, tuple padding,
           tuple dilation, int64_t groups, int num_threads, int isa, packed=None):
    """im2col convolution as an implicit GEMM into ``out``.

    Per group, ``out[n, group] (Cog x P) = W_g (Cog x K) @ cols (K x P)`` with
    ``K = C/groups * KD*KH*KW`` and ``P = OD*OH*OW``. The unfolded input is
    never built whole: work items (image, group, block of output positions)
    pack their block straight into the GEMM's panel format in a per-thread
    workspace of ``K * block`` elements (see :func:`im2col_block_columns`),
    and multiply it with the group's packed weights, in passes of whole input
    channels and at most ``IM2COL_KC`` rows of K (the bias is added in the
    first pass's epilogue). A pointwise problem
    (1x1x1 kernel, stride 1, no padding) is not packed at all: its unfolded
    input *is* the input, ``x[n, group]`` as a ``Cg x P`` matrix, which the
    GEMM reads in place (only a last block's columns short of a full panel
    are packed). Extra memory: the packed weights plus one block per thread.

    Parameters are those of :func:`direct`, and ``isa``, the GEMM's SIMD level
    (``fastconv._kernels._gemm``'s numbering), read once per call so packing and
    computing agree. ``packed``: the weights already packed by :func:`pack_a`
    for this ``isa`` (as ``(groups, C_out / groups, K)`` matrices), or None to
    pack them here.
    """
    cdef fc_geom g = _geometry(_shape5(x.shape), _shape5(weight.shape), _shape5(out.shape),
                               stride, padding, dilation, groups)
    cdef int dt = FC_DTYPE_F32 if floating is float else FC_DTYPE_F64
    dtype = np.float32 if floating is float else np.float64
    cdef int64_t K = g.Cg * g.KD * g.KH * g.KW
    cdef int64_t M = g.Cog
    cdef int64_t P = g.OD * g.OH * g.OW
    cdef int64_t nr = fc_gemm_nr_at(isa, dt)
    cdef int64_t mr = fc_gemm_mr_at(isa, dt)
    cdef bint pointwise = (g.KD == 1 and g.KH == 1 and g.KW == 1 and g.sd == 1 and g.sh == 1
                           and g.sw == 1 and g.pd == 0 and g.ph == 0 and g.pw == 0)
    cdef int64_t taps = g.KD * g.KH * g.KW
    # Input channels per pass, and the rows of K a pass packs.
    cdef int64_t cpass = g.Cg if pointwise else max(1, min(g.Cg, IM2COL_KC // taps))
    cdef int64_t kpass = cpass * taps
    cdef int64_t ncolb = im2col_block_columns(kpass, P, nr, np.dtype(dtype).itemsize,
                                              g.N * g.groups, num_threads)
    cdef int64_t nblk = (P + ncolb - 1) // ncolb
    cdef int64_t total = g.N * g.groups * nblk
    if total == 0 or M == 0:
        return out
    cdef int64_t asz = fc_packed_a_size_at(isa, M, K, dt)
    cdef bint prepacked = packed is not None
    cdef floating[::1] ap = packed if prepacked else np.empty(g.groups * asz, dtype)
    if ap.shape[0] != g.groups * asz:
        raise ValueError(f"packed weights have {ap.shape[0]} elements, expected {g.groups * asz}")
    # Pointwise: only the columns short of a full panel are packed.
    cdef floating[:, ::1] ws = np.empty((num_threads, kpass * (nr if pointwise else ncolb)), dtype)
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
    cdef int64_t t, r, n, grp, blk, p0, ncols, tid, nfull, ic0, ic1, kc
    cdef floating *bpk
    cdef floating *cp
    cdef const floating *xg
    cdef const floating *bias_g

    with nogil:
        for grp in range(g.groups * (not prepacked)):   # weights packed once per call
            pack_a_at(isa, M, K, wp + grp * M * K, K, app + grp * asz)
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
        if pointwise:
            xg = xp + (n * g.C + grp * g.Cg) * P + p0
            nfull = ncols // nr * nr
            # One pass over all of K: blocking K was measured slower here (1x1
            # layers of 256-1024 input channels).
            gemm_ex_at(isa, M, nfull, K, app + grp * asz, K * mr, xg, P, nr, cp, P, bias_g, 0)
            if nfull < ncols:
                pack_b_at(isa, K, ncols - nfull, xg + nfull, P, bpk)
                gemm_ex_at(isa, M, ncols - nfull, K, app + grp * asz, K * mr, bpk, nr, K * nr,
                           cp + nfull, P, bias_g, 0)
        else:
            ic0 = 0
            while ic0 < g.Cg:
                ic1 = ic0 + cpass if ic0 + cpass < g.Cg else g.Cg
                kc = (ic1 - ic0) * taps
                im2col_pack(&g, xp, n, grp, p0, ncols, ic0, ic1, nr, bpk)
                gemm_ex_at(isa, M, ncols, kc, app + grp * asz + ic0 * taps * mr, K * mr, bpk,
                           nr, kc * nr, cp, P, bias_g, ic0 > 0)
                ic0 = ic1
    return out


def pack_a(const floating[:, :, ::1] a, int isa):
    """Pack each matrix ``a[i]`` (M x K) as the GEMM's A operand at level ``isa``.

    Returns one flat array: matrix ``i`` at offset ``i * packed_a_size(M, K)``.
    """
    cdef int dt = FC_DTYPE_F32 if floating is float else FC_DTYPE_F64
    dtype = np.float32 if floating is float else np.float64
    cdef int64_t B = a.shape[0], M = a.shape[1], K = a.shape[2]
    cdef int64_t asz = fc_packed_a_size_at(isa, M, K, dt)
    cdef floating[::1] ap = np.zeros(max(B * asz, 1), dtype)
    cdef int64_t i
    if B * M * K == 0:
        return np.asarray(ap)[:B * asz]
    with nogil:
        for i in range(B):
            pack_a_at(isa, M, K, &a[i, 0, 0], K, &ap[i * asz])
    return np.asarray(ap)


def winograd_block_tiles(int64_t P, int64_t Cg, int64_t tiles, int64_t nr, int64_t itemsize):
    """Tiles per work item: a multiple of ``nr`` near WINOGRAD_BLOCK_BYTES of
    transformed input (P points x Cg channels per tile), at least ``nr``."""
    cdef int64_t nt = (WINOGRAD_BLOCK_BYTES // max(P * Cg * itemsize, 1)) // nr * nr
    cdef int64_t cap = (tiles + nr - 1) // nr * nr
    return max(nr, min(nt, cap))


def winograd(const floating[:, :, :, :, ::1] x, packed, bias, floating[:, :, :, :, ::1] out,
             tuple padding, tuple taps, int64_t groups, int num_threads, int isa):
    """Winograd F(2, 3) convolution (stride 1, no dilation) into ``out``.

    ``taps`` gives the kernel size along (D, H, W), each 1 or 3; the axes of 3
    taps are transformed (P = 4 ** their number points). ``packed`` holds the
    transformed weights ``U[p, grp]`` (C_out / groups x C_in / groups each),
    packed by :func:`pack_a` for this ``isa`` in (point, group) order.

    Work items are (block of tiles, group, block of output channels): each
    transforms its tiles' input (all of the group's input channels) into the
    GEMM's packed operands, multiplies them with the P weight matrices (one
    GEMM per point) and transforms the products back into output tiles. The
    blocks of output channels only exist to give every thread work when there
    are few tile blocks; each output element is computed by one item in an
    order fixed by the problem, so the result does not depend on the thread count.
    """
    cdef fc_wgeom g
    g.N, g.C, g.D, g.H, g.W = _shape5(x.shape)
    _, g.Co, g.OD, g.OH, g.OW = _shape5(out.shape)
    g.groups = groups
    g.Cg = g.C // groups
    g.Cog = g.Co // groups
    g.pd, g.ph, g.pw = padding
    g.fd, g.fh, g.fw = [1 if k == 3 else 0 for k in taps]
    g.TD = (g.OD + g.fd) // (1 + g.fd)
    g.TH = (g.OH + g.fh) // (1 + g.fh)
    g.TW = (g.OW + g.fw) // (1 + g.fw)
    g.P = 4 ** (g.fd + g.fh + g.fw)
    cdef int dt = FC_DTYPE_F32 if floating is float else FC_DTYPE_F64
    dtype = np.float32 if floating is float else np.float64
    cdef int64_t M = g.Cog, K = g.Cg
    cdef int64_t mr = fc_gemm_mr_at(isa, dt), nr = fc_gemm_nr_at(isa, dt)
    cdef int64_t asz = fc_packed_a_size_at(isa, M, K, dt)
    cdef int64_t tiles = g.N * g.TD * g.TH * g.TW
    if tiles == 0 or M == 0:
        return out
    cdef const floating[::1] up = packed
    if up.shape[0] != g.P * groups * asz:
        raise ValueError(f"packed Winograd weights have {up.shape[0]} elements, expected "
                         f"{g.P * groups * asz}")
    cdef int64_t nt = winograd_block_tiles(g.P, K, tiles, nr, np.dtype(dtype).itemsize)
    cdef int64_t nblk = (tiles + nt - 1) // nt
    cdef int64_t mpanels = (M + mr - 1) // mr
    cdef int64_t ncob = 1
    if nblk * groups < 4 * num_threads:
        ncob = min(mpanels, (4 * num_threads + nblk * groups - 1) // (nblk * groups))
    cdef int64_t mblk = (mpanels + ncob - 1) // ncob * mr
    ncob = (M + mblk - 1) // mblk
    cdef int64_t ntp = (nt + nr - 1) // nr * nr
    # Point strides padded by a cache line and a half: the P operands are
    # written side by side, and strides of a multiple of 4 KiB would put them
    # all in the same L1 cache sets.
    cdef int64_t vstride = K * ntp + WINOGRAD_STRIDE_PAD
    cdef int64_t mstride = mblk * ntp + WINOGRAD_STRIDE_PAD
    cdef floating[:, ::1] vs = np.empty((num_threads, g.P * vstride), dtype)
    cdef floating[:, ::1] ms = np.empty((num_threads, g.P * mstride), dtype)
    cdef const floating[::1] xf = np.asarray(x).reshape(-1)
    cdef const floating[::1] bf = (np.empty(0, dtype) if bias is None
                                   else np.ascontiguousarray(bias, dtype))
    cdef floating[::1] of = np.asarray(out).reshape(-1)
    cdef const floating *xp = _ptr(xf)
    cdef const floating *upp = &up[0]
    cdef const floating *bp = _ptr(bf)
    cdef floating *op = &of[0]
    cdef int64_t total = nblk * groups * ncob
    cdef int64_t t, r, blk, grp, cob, t0, cnt, co0, rows, p, tid
    cdef floating *vp
    cdef floating *mp
    for t in prange(total, nogil=True, num_threads=num_threads, schedule="static"):
        tid = omp_get_thread_num()
        r = t
        cob = r % ncob
        r = r // ncob
        grp = r % groups
        blk = r // groups
        t0 = blk * nt
        cnt = tiles - t0
        if cnt > nt:
            cnt = nt
        co0 = cob * mblk
        rows = M - co0
        if rows > mblk:
            rows = mblk
        vp = &vs[tid, 0]
        mp = &ms[tid, 0]
        wino_input(isa, &g, xp, grp, t0, cnt, nr, vstride, vp)
        for p in range(g.P):
            gemm_packed_at(isa, rows, cnt, K,
                           upp + (p * groups + grp) * asz + (co0 // mr) * K * mr,
                           vp + p * vstride, mp + p * mstride, ntp, NULL, 0)
        wino_output(isa, &g, mp, ntp, mstride, grp * M + co0, rows, t0, cnt, bp, op)
    return out


def winograd_weights(const floating[:, :, :, :, ::1] w, int64_t groups, int isa,
                     int num_threads=1):
    """The weights of a Winograd F(2, 3) convolution, transformed and packed.

    ``U = G g G^T`` (along every axis of 3 taps; axes of 1 tap are kept),
    computed in float64 from ``w`` (C_out, C_in / groups, KD, KH, KW) and
    stored in the GEMM's packed-A format at level ``isa``: one C_out / groups
    x C_in / groups matrix per (point, group), the layout :func:`winograd` reads.
    The row panels are shared among ``num_threads`` threads (each value is
    computed the same way whoever computes it).
    """
    cdef int dt = FC_DTYPE_F32 if floating is float else FC_DTYPE_F64
    dtype = np.float32 if floating is float else np.float64
    cdef int64_t Co = w.shape[0], K = w.shape[1]
    cdef int KD = w.shape[2], KH = w.shape[3], KW = w.shape[4]
    cdef int64_t M = Co // groups
    cdef int64_t P = (4 if KD == 3 else 1) * (4 if KH == 3 else 1) * (4 if KW == 3 else 1)
    cdef int64_t mr = fc_gemm_mr_at(isa, dt)
    cdef int64_t asz = fc_packed_a_size_at(isa, M, K, dt)
    cdef floating[::1] ap = np.zeros(max(P * groups * asz, 1), dtype)
    if P * groups * asz == 0:
        return np.asarray(ap)[:0]
    cdef int64_t npanels = groups * ((M + mr - 1) // mr), q
    cdef const floating *wp = &w[0, 0, 0, 0, 0]
    cdef floating *app = &ap[0]
    for q in prange(npanels, nogil=True, num_threads=num_threads, schedule="static"):
        wino_weights(wp, Co, K, KD, KH, KW, groups, mr, asz, q, app)
    return np.asarray(ap)
