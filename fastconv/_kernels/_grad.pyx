"""Kernels of the backward passes and of the transposed convolution.

``weight_grad``: the weight gradient of a convolution as a blocked GEMM on the
project's micro-kernel. ``col2im_add``: the scatter-add that finishes the
GEMM path of a transposed convolution.

Weight gradient:

Per group ``g``: ``gw[g] (Cog x J) = sum_n gy[n, g] (Cog x P) @ cols[n, g]^T (P x J)``
with ``J = C/groups * KD*KH*KW`` and ``P = OD*OH*OW``; ``cols`` (the unfolded
input) is never built: each work item packs one ``KC x nb`` block of
``cols^T`` straight into the GEMM's panel format, from the input, in a
per-thread workspace.

Work items are (group, block of ``nb`` columns of ``J``): each owns a disjoint
block of ``gw`` and sums its reduction over ``(n, position block)`` in a fixed
order, so the result is bitwise identical for any thread count (no atomics).
"""
from libc.stdint cimport int64_t
from cython.parallel cimport prange

import numpy as np

from fastconv._kernels._fused cimport floating
from fastconv._kernels._openmp cimport (
    omp_get_thread_num, fc_team, fc_team_stop, fc_team_workspace, team_begin, team_end)
# The GEMM's C functions (gemm.c is compiled into this extension too).
from fastconv._kernels._gemm cimport (
    FC_DTYPE_F32, FC_DTYPE_F64, fc_gemm_mr_at, fc_gemm_nr_at, fc_packed_a_size_at,
    fc_packed_b_size_at, gemm_packed_at, pack_a_at)

cdef enum:
    # Reduction rows (output positions) per packed block.
    KC = 256


cdef void _pack_cols_t(const floating *x, int64_t C, int64_t D, int64_t H, int64_t W,
                       int64_t OH, int64_t OW, int64_t KD, int64_t KH, int64_t KW,
                       int64_t sd, int64_t sh, int64_t sw, int64_t pd, int64_t ph, int64_t pw,
                       int64_t dd, int64_t dh, int64_t dw, int64_t c0, int64_t j0, int64_t nb,
                       int64_t p0, int64_t kcb, int64_t nr, floating *Bp) noexcept nogil:
    """Pack ``cols^T[p0:p0+kcb, j0:j0+nb]`` of one image into panels of ``kcb x nr``.

    Column ``j`` is ``(c, kd, kh, kw)`` (input channel ``c0 + c``), row ``p``
    the output position ``(od, oh, ow)``; out-of-range taps read zero. Each
    column is walked one output row at a time so the input is read in runs.
    """
    cdef int64_t jj, j, c, rem, kd, kh, kw, k, od, oh, ow, idd, ih, iw, seg, t, tlo, thi
    cdef int64_t OHW = OH * OW
    cdef int64_t npan = (nb + nr - 1) // nr
    cdef floating *dst
    cdef const floating *row
    # Zero the tail columns of the last panel.
    for jj in range(nb, npan * nr):
        dst = Bp + (jj // nr) * kcb * nr + (jj % nr)
        for k in range(kcb):
            dst[k * nr] = 0
    for jj in range(nb):
        j = j0 + jj
        c = j // (KD * KH * KW)
        rem = j % (KD * KH * KW)
        kd = rem // (KH * KW)
        kh = (rem // KW) % KH
        kw = rem % KW
        dst = Bp + (jj // nr) * kcb * nr + (jj % nr)
        k = 0
        od = p0 // OHW
        oh = (p0 % OHW) // OW
        ow = p0 % OW
        while k < kcb:
            seg = OW - ow
            if seg > kcb - k:
                seg = kcb - k
            idd = od * sd - pd + kd * dd
            ih = oh * sh - ph + kh * dh
            if idd < 0 or idd >= D or ih < 0 or ih >= H:
                for t in range(seg):
                    dst[(k + t) * nr] = 0
            else:
                row = x + ((c0 + c) * D + idd) * H * W + ih * W
                iw = ow * sw - pw + kw * dw
                # t in [tlo, thi) reads inside the row: split so the copy loop has no branch
                tlo = 0
                while tlo < seg and iw + tlo * sw < 0:
                    tlo = tlo + 1
                thi = seg
                while thi > tlo and iw + (thi - 1) * sw >= W:
                    thi = thi - 1
                for t in range(tlo):
                    dst[(k + t) * nr] = 0
                for t in range(tlo, thi):
                    dst[(k + t) * nr] = row[iw + t * sw]
                for t in range(thi, seg):
                    dst[(k + t) * nr] = 0
            k = k + seg
            ow = 0
            oh = oh + 1
            if oh == OH:
                oh = 0
                od = od + 1


def block_columns(int64_t J, int64_t Cog, int64_t groups, int64_t nr, int num_threads):
    """Columns of ``J`` per work item: a multiple of ``nr``, at most 8 panels,
    small enough to give each thread a few items when ``J`` allows."""
    cdef int64_t per = (J * groups + 4 * num_threads - 1) // (4 * num_threads)
    cdef int64_t nb = (per + nr - 1) // nr * nr
    return max(nr, min(nb, 8 * nr, (J + nr - 1) // nr * nr))


def weight_grad(const floating[:, :, :, :, ::1] x, const floating[:, :, :, :, ::1] gy,
                floating[:, :, :, :, ::1] gw, tuple stride, tuple padding, tuple dilation,
                int64_t groups, int num_threads, int isa):
    """Write the weight gradient of a convolution into ``gw``.

    Parameters
    ----------
    x : (N, C, D, H, W) C-contiguous array
        The convolution's input (zero padding is implicit: ``padding`` is the
        before-amount per dim; any after-padding is implied by the sizes).
    gy : (N, C_out, OD, OH, OW) array of the same dtype
        The gradient of the output.
    gw : (C_out, C // groups, KD, KH, KW) array of the same dtype
        Overwritten with the gradient.
    stride, padding, dilation : tuples of 3 ints
    groups : int
    num_threads : int
    isa : int
        The GEMM's SIMD level (``fastconv._kernels._gemm`` numbering).
    """
    cdef int dt = FC_DTYPE_F32 if floating is float else FC_DTYPE_F64
    dtype = np.float32 if floating is float else np.float64
    cdef int64_t N = x.shape[0], C = x.shape[1], D = x.shape[2], H = x.shape[3], W = x.shape[4]
    cdef int64_t Cout = gy.shape[1], OD = gy.shape[2], OH = gy.shape[3], OW = gy.shape[4]
    cdef int64_t Cig = C // groups, Cog = Cout // groups
    cdef int64_t KD = gw.shape[2], KH = gw.shape[3], KW = gw.shape[4]
    cdef int64_t J = Cig * KD * KH * KW
    cdef int64_t P = OD * OH * OW
    cdef int64_t sd = stride[0], sh = stride[1], sw = stride[2]
    cdef int64_t pd = padding[0], ph = padding[1], pw = padding[2]
    cdef int64_t dd = dilation[0], dh = dilation[1], dw = dilation[2]
    cdef int64_t mr = fc_gemm_mr_at(isa, dt), nr = fc_gemm_nr_at(isa, dt)
    cdef int64_t nb = block_columns(J, Cog, groups, nr, num_threads)
    cdef int64_t njb = (J + nb - 1) // nb
    cdef int64_t npb = (P + KC - 1) // KC
    cdef int64_t total = groups * njb
    if gy.shape[0] != N or gw.shape[0] != Cout or gw.shape[1] != Cig:
        raise ValueError("weight_grad: inconsistent shapes")
    if Cout == 0 or J == 0:
        return gw
    if N == 0 or P == 0:
        np.asarray(gw)[...] = 0
        return gw
    # A = gy, packed once: block (n, g, pb) of Cog x KC at ap[((n * groups + g) * npb + pb) * ablk].
    cdef int64_t ablk = fc_packed_a_size_at(isa, Cog, KC, dt)
    cdef int64_t bblk = fc_packed_b_size_at(isa, KC, nb, dt)
    cdef floating[::1] ap = np.empty(N * groups * npb * ablk, dtype)
    cdef const floating *xp = &x[0, 0, 0, 0, 0]
    cdef const floating *gp = &gy[0, 0, 0, 0, 0]
    cdef floating *wp = &gw[0, 0, 0, 0, 0]
    cdef floating *app = &ap[0]
    cdef int64_t a, n, grp, pb, p0, kcb, it, jb, j0, ncols, first
    cdef floating *bp

    cdef fc_team team
    team_begin(&team, num_threads, <double>N * groups * npb * Cog * KC, N * groups * npb, 0)
    with nogil:
        for a in prange(N * groups * npb, num_threads=team.threads, schedule="dynamic",
                        use_threads_if=team.threads > 1):
            if fc_team_stop(&team):
                continue
            n = a // (groups * npb)
            grp = (a // npb) % groups
            pb = a % npb
            p0 = pb * KC
            kcb = min(KC, P - p0)
            pack_a_at(isa, Cog, kcb, gp + (n * Cout + grp * Cog) * P + p0, P, app + a * ablk)
    team_end(&team)
    # An item's reduction can be long (every image and position): the team
    # is checked once per image inside it too.
    team_begin(&team, num_threads, <double>N * P * Cout * J, total, bblk * sizeof(floating))
    with nogil:
        for it in prange(total, num_threads=team.threads, schedule="dynamic",
                         use_threads_if=team.threads > 1):
            if fc_team_stop(&team):
                continue
            bp = <floating *>fc_team_workspace(&team, omp_get_thread_num())
            if bp == NULL:
                continue
            grp = it // njb
            jb = it % njb
            j0 = jb * nb
            ncols = min(nb, J - j0)
            first = 1
            for n in range(N):
                if fc_team_stop(&team):
                    break
                for pb in range(npb):
                    p0 = pb * KC
                    kcb = min(KC, P - p0)
                    _pack_cols_t(xp + n * C * D * H * W, C, D, H, W, OH, OW, KD, KH, KW,
                                 sd, sh, sw, pd, ph, pw, dd, dh, dw, grp * Cig, j0, ncols,
                                 p0, kcb, nr, bp)
                    gemm_packed_at(isa, Cog, ncols, kcb,
                                   app + ((n * groups + grp) * npb + pb) * ablk, bp,
                                   wp + grp * Cog * J + j0, J, NULL, not first)
                    first = 0
    team_end(&team)
    return gw


cdef inline int64_t _first_valid(int64_t n_in, int64_t start, int64_t s,
                                 int64_t off) noexcept nogil:
    """The first block index i < n_in with (start + i) * s + off >= 0 (or n_in)."""
    cdef int64_t i = 0
    while i < n_in and (start + i) * s + off < 0:
        i = i + 1
    return i


cdef inline int64_t _end_valid(int64_t n_in, int64_t start, int64_t n_out, int64_t s,
                               int64_t off) noexcept nogil:
    """One past the last block index i < n_in with (start + i) * s + off < n_out."""
    cdef int64_t i = n_in
    while i > 0 and (start + i - 1) * s + off >= n_out:
        i = i - 1
    return i


cdef enum:
    # Kernel widths col2im_add's row-by-row form takes (their column ranges
    # are tabulated on the stack).
    COL2IM_MAX_KW = 64


cdef void _col2im_channel_by_rows(const floating *cp, floating *op, floating *ws, int64_t o,
                                  int64_t OD, int64_t OH, int64_t OW, int64_t BD, int64_t BH,
                                  int64_t BW, int64_t s0, int64_t s1, int64_t s2, int64_t KD,
                                  int64_t KH, int64_t KW, int64_t sd, int64_t sh, int64_t sw,
                                  int64_t pd, int64_t ph, int64_t pw, int64_t dd, int64_t dh,
                                  int64_t dw) noexcept nogil:
    # col2im_add for output channel o, output row by output row: the row's
    # stride phases are gathered into ws (phase r, the columns q = m * sw + r,
    # at ws[r * L + m]), every tap (kd, kh, kw) that reaches the row adds its
    # input row to its phase as one contiguous run, in (kd, kh, kw) order,
    # and the phases are written back.
    cdef int64_t kk = KD * KH * KW, P = BD * BH * BW
    cdef int64_t L = (OW + sw - 1) // sw
    cdef int64_t wlo[COL2IM_MAX_KW]
    cdef int64_t whi[COL2IM_MAX_KW]
    cdef int64_t qd, qh, kd, kh, kw, td, th, i, j, r, m, n, q0, cnt
    cdef bint loaded
    cdef floating *row
    cdef floating *dst
    cdef const floating *src
    for kw in range(KW):
        wlo[kw] = _first_valid(BW, s2, sw, kw * dw - pw)
        whi[kw] = _end_valid(BW, s2, OW, sw, kw * dw - pw)
    for qd in range(OD):
        for qh in range(OH):
            row = op + ((o * OD + qd) * OH + qh) * OW
            loaded = False
            for kd in range(KD):
                td = qd + pd - kd * dd - s0 * sd        # (block index i) * sd
                if td < 0 or td % sd != 0 or td // sd >= BD:
                    continue
                i = td // sd
                for kh in range(KH):
                    th = qh + ph - kh * dh - s1 * sh
                    if th < 0 or th % sh != 0 or th // sh >= BH:
                        continue
                    j = th // sh
                    if not loaded:
                        for r in range(sw):
                            cnt = (OW - r + sw - 1) // sw
                            for m in range(cnt):
                                ws[r * L + m] = row[m * sw + r]
                        loaded = True
                    for kw in range(KW):
                        n = whi[kw] - wlo[kw]
                        if n <= 0:
                            continue
                        q0 = (s2 + wlo[kw]) * sw + kw * dw - pw
                        dst = ws + (q0 % sw) * L + q0 // sw
                        src = (cp + (o * kk + (kd * KH + kh) * KW + kw) * P
                               + (i * BH + j) * BW + wlo[kw])
                        for m in range(n):
                            dst[m] += src[m]
            if loaded:
                for r in range(sw):
                    cnt = (OW - r + sw - 1) // sw
                    for m in range(cnt):
                        row[m * sw + r] = ws[r * L + m]


def col2im_add(const floating[:, ::1] cols, floating[:, :, :, ::1] out, tuple in_block,
               tuple start, tuple kernel, tuple stride, tuple padding, tuple dilation,
               int num_threads):
    """Add the columns of a transposed convolution's GEMM into its output.

    ``cols`` is ``(C * KD*KH*KW, BD*BH*BW)``: row ``(o, kd, kh, kw)``, column the
    input position ``(id, ih, iw)`` of a block starting at ``start``; each value
    is added to ``out[o, (start_d + id) * sd - pd + kd * dd, ...]`` when that lies
    inside ``out`` ``(C, OD, OH, OW)``. Parallel over ``o`` (disjoint), taps and
    positions in a fixed order: the same bits for any thread count.
    """
    cdef int64_t C = out.shape[0], OD = out.shape[1], OH = out.shape[2], OW = out.shape[3]
    cdef int64_t BD = in_block[0], BH = in_block[1], BW = in_block[2]
    cdef int64_t s0 = start[0], s1 = start[1], s2 = start[2]
    cdef int64_t KD = kernel[0], KH = kernel[1], KW = kernel[2]
    cdef int64_t sd = stride[0], sh = stride[1], sw = stride[2]
    cdef int64_t pd = padding[0], ph = padding[1], pw = padding[2]
    cdef int64_t dd = dilation[0], dh = dilation[1], dw = dilation[2]
    cdef int64_t kk = KD * KH * KW, P = BD * BH * BW
    if cols.shape[0] != C * kk or cols.shape[1] != P:
        raise ValueError("col2im_add: inconsistent shapes")
    if C == 0 or P == 0:
        return out
    cdef const floating *cp = &cols[0, 0]
    cdef floating *op = &out[0, 0, 0, 0]
    cdef int64_t o, kd, kh, kw, dlo, dhi, hlo, hhi, wlo, whi, i, j, l, qd, qh, qw0
    cdef const floating *src
    cdef floating *dst
    cdef floating *rows_ws
    cdef fc_team team
    # Strided along the rows (sw > 1) with taps that overlap there (KW * dw >
    # sw: an output column receives several): output row by output row, each
    # row's stride phases (columns q with q % sw = r) gathered into
    # contiguous runs, so a tap's values add to a run as contiguous vectors;
    # the same taps in the same order per element. Scattered with stride 2
    # straight into the row, the adds were scalar: as slow as the GEMM on
    # convT4x4s2_64_32_28 (by rows: 0.73x the layer's time, 1 thread); a
    # kernel no wider than the stride (2 x 2, stride 2) adds one tap per
    # column, which the gathering only slows (1.28x on a 3-D 2x2x2 layer).
    cdef bint by_rows = sw > 1 and KW * dw > sw and KW <= COL2IM_MAX_KW
    cdef int64_t L = (OW + sw - 1) // sw
    team_begin(&team, num_threads, <double>C * kk * P, C,
               sw * L * sizeof(floating) if by_rows else 0)
    with nogil:
        for o in prange(C, num_threads=team.threads, schedule="dynamic",
                        use_threads_if=team.threads > 1):
            if by_rows:
                if fc_team_stop(&team):
                    continue
                rows_ws = <floating *>fc_team_workspace(&team, omp_get_thread_num())
                if rows_ws == NULL:
                    continue
                _col2im_channel_by_rows(cp, op, rows_ws, o, OD, OH, OW, BD, BH, BW, s0, s1,
                                        s2, KD, KH, KW, sd, sh, sw, pd, ph, pw, dd, dh, dw)
                continue
            for kd in range(KD):
                if fc_team_stop(&team):     # an item is every tap of a channel
                    break
                dlo = _first_valid(BD, s0, sd, kd * dd - pd)
                dhi = _end_valid(BD, s0, OD, sd, kd * dd - pd)
                for kh in range(KH):
                    hlo = _first_valid(BH, s1, sh, kh * dh - ph)
                    hhi = _end_valid(BH, s1, OH, sh, kh * dh - ph)
                    for kw in range(KW):
                        wlo = _first_valid(BW, s2, sw, kw * dw - pw)
                        whi = _end_valid(BW, s2, OW, sw, kw * dw - pw)
                        src = cp + (o * kk + (kd * KH + kh) * KW + kw) * P
                        for i in range(dlo, dhi):
                            qd = (s0 + i) * sd + kd * dd - pd
                            for j in range(hlo, hhi):
                                qh = (s1 + j) * sh + kh * dh - ph
                                dst = op + ((o * OD + qd) * OH + qh) * OW
                                qw0 = (s2 + wlo) * sw + kw * dw - pw
                                for l in range(max(whi - wlo, 0)):
                                    dst[qw0 + l * sw] += src[(i * BH + j) * BW + wlo + l]
    team_end(&team)
    return out
