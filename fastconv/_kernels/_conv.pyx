"""Convolution kernels: the direct and the im2col (implicit GEMM) algorithms.

Both take channels-first, C-contiguous 5-D arrays of one floating dtype (the
Python layer views 1-D and 2-D problems with leading spatial dims of size 1
and applies non-zero padding modes itself) and write every element of
``out``. Inside their parallel loops they allocate nothing but each thread's
workspace, once, on the thread's first work item (``runtime.h``: checked,
freed when the loop ends, a failure raises MemoryError).

Work is split over OpenMP threads in items that each own a disjoint part of
the output, and every output element is summed in an order fixed by the
problem alone: results are bitwise identical for any thread count.
"""
cimport numpy as cnp
from libc.stdint cimport int64_t
from libc.string cimport memset
from cython.parallel cimport prange

import numpy as np

from fastconv._kernels._fused cimport floating
from fastconv._kernels._ndarray cimport array_data, dim
from fastconv._kernels._openmp cimport (
    omp_get_thread_num, fc_team, fc_team_stop, fc_team_workspace, schedule_chunk, team_begin,
    team_end)
# The GEMM's C functions (gemm.c is compiled into this extension too); the
# SIMD level is passed explicitly, so no state is shared with _gemm.
from fastconv._kernels._gemm cimport (
    FC_DTYPE_F32, FC_DTYPE_F64, fc_gemm_mr_at, fc_gemm_nr_at, fc_packed_a_size_at,
    gemm_ai_at, gemm_ex_at, gemm_packed_at, pack_a_at, pack_b_at)
from fastconv._kernels.kernels cimport (
    FC_DEPTHWISE_ROWS, FC_DIRECT_OCB, depthwise_item, direct_item, fc_geom, fc_grid_layout,
    fc_grid_plan, fc_wgeom, grid_item, im2col_pack, wino_input, wino_output, wino_weights)

cnp.import_array()

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
#: Elements of the zero row the direct kernel keeps on the stack (a longer
#: row is allocated).
cdef enum:
    ZROW_STACK = 256
#: Bytes of phase planes (a band's zero-padded input) one grid work item
#: copies, at most: with the output tile and the packed weights, well inside a
#: 512 KiB L2 cache, which every output-channel block of the item sweeps again.
cdef int64_t GRID_BLOCK_BYTES = 192 * 1024
#: Largest workspace of a one-row band the grid kernel takes (a longer row
#: runs on the row kernel).
cdef int64_t GRID_MAX_BYTES = 8 * 1024 * 1024
#: Work items per thread the grid kernel's split aims for (dynamic schedule).
cdef int64_t GRID_ITEMS_PER_THREAD = 4
#: Largest stride the grid kernel takes (its phases: direct_impl.h's
#: FC_DIRECT_MAXPHASE).
cdef int64_t GRID_MAX_STRIDE = 8


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


def direct(cnp.ndarray x not None, cnp.ndarray weight not None, bias,
           cnp.ndarray out not None, tuple stride, tuple padding, tuple dilation,
           int64_t groups, int num_threads, int isa):
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
    # The arrays are read through NumPy's C API (checked by array_data: a
    # typed memoryview per argument and a fused dispatch cost more than a
    # tiny call's arithmetic); C-contiguous, they are indexed from their
    # first element.
    cdef int typenum = cnp.PyArray_TYPE(x)
    if typenum != cnp.NPY_FLOAT32 and typenum != cnp.NPY_FLOAT64:
        raise ValueError(f"direct computes in float32 or float64, got x of dtype "
                         f"{(<object>x).dtype}")
    cdef const char *xp = array_data(x, 5, typenum, False, "x")
    cdef const char *wp = array_data(weight, 5, typenum, False, "weight")
    cdef char *op = array_data(out, 5, typenum, True, "out")
    cdef const char *bp = NULL
    cdef cnp.ndarray b
    if bias is not None:
        b = np.ascontiguousarray(bias, cnp.PyArray_DescrFromType(typenum))
        bp = array_data(b, 1, typenum, False, "bias")
        if dim(b, 0) != dim(weight, 0):
            raise ValueError(f"bias has {dim(b, 0)} values for {dim(weight, 0)} output channels")
    cdef fc_geom g = _geometry(_shape5(<Py_ssize_t *>cnp.PyArray_DIMS(x)),
                               _shape5(<Py_ssize_t *>cnp.PyArray_DIMS(weight)),
                               _shape5(<Py_ssize_t *>cnp.PyArray_DIMS(out)), stride, padding, dilation,
                               groups)
    if typenum == cnp.NPY_FLOAT32:
        _direct(&g, <const float *>xp, <const float *>wp, <const float *>bp, <float *>op,
                num_threads, isa)
    else:
        _direct(&g, <const double *>xp, <const double *>wp, <const double *>bp,
                <double *>op, num_threads, isa)
    return out


cdef int _direct(fc_geom *gp, const floating *xp, const floating *wp, const floating *bp,
                 floating *op, int num_threads, int isa) except -1:
    cdef fc_geom g = gp[0]
    dtype = np.float32 if floating is float else np.float64
    cdef int64_t ocb = FC_DIRECT_OCB
    cdef int64_t nob = (g.Cog + ocb - 1) // ocb
    cdef int64_t total = g.N * g.groups * nob * g.OD * g.OH
    cdef int64_t t, r, n, grp, ob, od, oh, nb
    cdef int64_t rows = FC_DEPTHWISE_ROWS
    cdef int64_t nrb = (g.OH + rows - 1) // rows
    cdef double macs = (<double>g.N * g.Co * g.OD * g.OH * g.OW) * g.Cg * g.KD * g.KH * g.KW
    cdef fc_team team
    # A row of zeros the kernels read for padded rows, on the stack when it is short.
    cdef floating zbuf[ZROW_STACK]
    cdef const floating[::1] zrow
    cdef const floating *zp = zbuf
    if g.W <= ZROW_STACK:
        memset(zbuf, 0, sizeof(zbuf))
    else:
        zrow = np.zeros(g.W, dtype)
        zp = &zrow[0]
    if g.Cg == 1:
        total = g.N * g.Co * g.OD * nrb
        team_begin(&team, num_threads, macs, total, 0)
        for t in prange(total, nogil=True, num_threads=team.threads, schedule="dynamic",
                        chunksize=schedule_chunk(total, team.threads),
                        use_threads_if=team.threads > 1):
            if fc_team_stop(&team):
                continue
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
        team_end(&team)
        return 0
    if total == 0:
        return 0
    if grid_applies(&g, sizeof(floating)):
        return _direct_grid(&g, xp, wp, bp, op, num_threads, isa, macs)
    team_begin(&team, num_threads, macs, total, 0)
    for t in prange(total, nogil=True, num_threads=team.threads, schedule="dynamic",
                    chunksize=schedule_chunk(total, team.threads),
                    use_threads_if=team.threads > 1):
        if fc_team_stop(&team):
            continue
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
    team_end(&team)
    return 0


cdef bint grid_applies(const fc_geom *g, int64_t itemsize) noexcept nogil:
    # The grid kernel (fc_grid_item) takes 1-D and 2-D problems of strides up
    # to GRID_MAX_STRIDE whose one-row band fits GRID_MAX_BYTES; 3-D ones,
    # larger strides and huge rows stay on the row kernel.
    cdef fc_grid_layout lay
    if g.D != 1 or g.KD != 1 or g.OD != 1 or g.sh > GRID_MAX_STRIDE or g.sw > GRID_MAX_STRIDE:
        return False
    fc_grid_plan(g, 1, itemsize, &lay)
    return lay.bytes <= GRID_MAX_BYTES


def grid_blocking(tuple x_shape, tuple w_shape, tuple out_shape, tuple stride, tuple padding,
                  tuple dilation, int64_t groups, int num_threads, int64_t itemsize):
    """The grid kernel's split of a problem into work items, for ``num_threads``
    threads: ``(rows, nbands, nparts)`` (output rows per band, bands, parts
    of each group's output-channel blocks), or None when the grid kernel does
    not take the problem."""
    cdef fc_geom g = _geometry(x_shape, w_shape, out_shape, stride, padding, dilation, groups)
    if not grid_applies(&g, itemsize):
        return None
    cdef int64_t rows, nbands, nparts
    _grid_split(&g, num_threads, itemsize, &rows, &nbands, &nparts)
    return rows, nbands, nparts


cdef void _grid_split(const fc_geom *g, int num_threads, int64_t itemsize, int64_t *rows,
                      int64_t *nbands, int64_t *nparts) noexcept nogil:
    # Bands of output rows whose phase planes fit GRID_BLOCK_BYTES (one row at
    # least); with several threads, more bands and then parts of the channel
    # blocks until there are GRID_ITEMS_PER_THREAD items per thread. How the
    # work is split never changes the bits (each element's sum is computed
    # whole by one item, in a fixed order).
    cdef fc_grid_layout lay
    cdef int64_t nob = (g.Cog + FC_DIRECT_OCB - 1) // FC_DIRECT_OCB
    cdef int64_t per_row, outer = g.N * g.groups, want, r
    fc_grid_plan(g, 1, itemsize, &lay)
    per_row = lay.obuf_at
    fc_grid_plan(g, 2, itemsize, &lay)
    per_row = lay.obuf_at - per_row            # plane bytes of one more row
    r = g.OH
    if per_row > 0 and r * per_row > GRID_BLOCK_BYTES:
        r = GRID_BLOCK_BYTES // per_row
        if r < 1:
            r = 1
    nbands[0] = (g.OH + r - 1) // r
    nparts[0] = 1
    if num_threads > 1:
        want = GRID_ITEMS_PER_THREAD * num_threads
        if outer * nbands[0] < want:
            nbands[0] = min(g.OH, max(nbands[0], (want + outer - 1) // outer))
        if outer * nbands[0] < want:
            nparts[0] = min(nob, (want + outer * nbands[0] - 1) // (outer * nbands[0]))
    r = (g.OH + nbands[0] - 1) // nbands[0]
    nbands[0] = (g.OH + r - 1) // r
    rows[0] = r


cdef int _direct_grid(fc_geom *gp, const floating *xp, const floating *wp, const floating *bp,
                      floating *op, int num_threads, int isa, double macs) except -1:
    cdef fc_geom g = gp[0]
    cdef fc_grid_layout lay
    cdef int64_t rows, nbands, nparts, total, t, r, n, grp, band, part, ob0, ob1, oh0, nr
    cdef int64_t nob = (g.Cog + FC_DIRECT_OCB - 1) // FC_DIRECT_OCB
    cdef void *ws
    cdef fc_team team
    _grid_split(&g, num_threads, sizeof(floating), &rows, &nbands, &nparts)
    fc_grid_plan(&g, rows, sizeof(floating), &lay)
    total = g.N * g.groups * nparts * nbands
    team_begin(&team, num_threads, macs, total, lay.bytes)
    for t in prange(total, nogil=True, num_threads=team.threads, schedule="dynamic",
                    use_threads_if=team.threads > 1):
        if fc_team_stop(&team):
            continue
        ws = fc_team_workspace(&team, omp_get_thread_num())
        if ws == NULL:
            continue
        r = t
        band = r % nbands
        r = r // nbands
        part = r % nparts
        r = r // nparts
        grp = r % g.groups
        n = r // g.groups
        ob0 = part * nob // nparts
        ob1 = (part + 1) * nob // nparts
        oh0 = band * rows
        nr = g.OH - oh0
        if nr > rows:
            nr = rows
        if ob1 > ob0:
            grid_item(isa, &g, xp, wp, bp, op, ws, n, grp, ob0, ob1, oh0, nr)
    team_end(&team)
    return 0


def balanced_blocks(int64_t npanels, int64_t per_block, int64_t images=1, int64_t threads=1):
    """How many blocks of whole panels ``npanels`` panels are cut into.

    About ``per_block`` panels each (at least one panel, at most ``npanels``
    blocks). With ``images`` independent sets of blocks shared among
    ``threads`` in equal runs of work items (OpenMP's static schedule), up
    to ``threads - 1`` blocks are added when that makes the item count a
    multiple of ``threads``. Block ``b`` of ``n`` covers the panels
    ``[b * npanels // n, (b + 1) * npanels // n)`` (``_block_start``), so
    block sizes differ by at most one panel (one column when blocks are
    smaller than two panels, ``_block_unit``) and every thread gets the same
    work to within a panel per item. (Blocks of a fixed size with a short
    last one gave one thread 448 Winograd tiles and the other 336 on a 56 x 56
    layer: at most 1.75x on 2 threads.)
    """
    if npanels <= 0:
        return 1
    cdef int64_t nblk = min(npanels, (npanels + max(per_block, 1) - 1) // max(per_block, 1))
    cdef int64_t more
    if threads > 1:
        for more in range(threads):
            if nblk + more > npanels:
                break
            if (images * (nblk + more)) % threads == 0:
                return nblk + more
    return nblk


cdef inline int64_t _block_unit(int64_t n, int64_t nblk, int64_t nr) noexcept nogil:
    # The granularity of the block boundaries over n columns: whole panels
    # of nr, unless the blocks hold less than two panels each; then single
    # columns, so that the blocks' other work (packing, transforms) is shared
    # evenly too: 49 Winograd tiles on 4 blocks are 12-13 tiles each, not
    # 16, 16, 16 and 1, and each still costs one panel of GEMM.
    return nr if n >= 2 * nblk * nr else 1


cdef inline int64_t _block_start(int64_t b, int64_t nblk, int64_t n, int64_t unit) noexcept nogil:
    # First column of block b of nblk balanced blocks over n columns, cut at
    # multiples of unit (the end of the last block is n itself).
    cdef int64_t pieces = (n + unit - 1) // unit
    cdef int64_t start = b * pieces // nblk * unit
    return start if start < n else n


cdef inline int64_t _block_width(int64_t nblk, int64_t n, int64_t unit, int64_t nr) noexcept nogil:
    # The widest block, in whole panels of nr (the workspace a block needs).
    cdef int64_t pieces = (n + unit - 1) // unit
    return ((pieces + nblk - 1) // nblk * unit + nr - 1) // nr * nr


def im2col_blocks(int64_t K, int64_t P, int64_t nr, int64_t itemsize,
                  int64_t images=1, int64_t threads=1, int64_t block_bytes=0):
    """The number of blocks the ``P`` output positions of one GEMM are cut
    into: blocks of whole ``nr`` panels near ``block_bytes`` (0:
    IM2COL_BLOCK_BYTES) of unfolded input (``K`` rows), balanced over
    ``images`` GEMMs and ``threads`` by :func:`balanced_blocks`."""
    if block_bytes <= 0:
        block_bytes = IM2COL_BLOCK_BYTES
    return balanced_blocks((P + nr - 1) // nr, (block_bytes // max(K * itemsize, 1)) // nr,
                           images, threads)


cdef bint _pointwise(const fc_geom *g) noexcept nogil:
    # 1x1x1 kernel, stride 1, no padding: the unfolded input is the input.
    # (The padding after counts too: with padding only after, pd = ph = pw =
    # 0 but the output is larger than the input.)
    return (g.KD == 1 and g.KH == 1 and g.KW == 1 and g.sd == 1 and g.sh == 1
            and g.sw == 1 and g.pd == 0 and g.ph == 0 and g.pw == 0
            and g.OD == g.D and g.OH == g.H and g.OW == g.W)


cdef int64_t _im2col_cpass(const fc_geom *g, int64_t kc):
    # Input channels per pass: all of them for a pointwise problem, else
    # whole channels of at most kc rows of K (at least one channel).
    cdef int64_t taps = g.KD * g.KH * g.KW
    if _pointwise(g):
        return g.Cg
    if kc <= 0:
        kc = IM2COL_KC
    return max(1, min(g.Cg, kc // taps))


def im2col_blocking(tuple x_shape, tuple w_shape, tuple out_shape, tuple stride,
                    tuple padding, int64_t groups, int num_threads, int isa, int64_t itemsize,
                    int64_t block_bytes=0, int64_t pass_rows=0):
    """``(cpass, nblk)``: the input channels per pass and the blocks of output
    positions per GEMM that :func:`im2col` uses for these 5-D shapes, with the block
    size ``block_bytes`` and passes of at most ``pass_rows`` rows of K (0: the defaults,
    IM2COL_BLOCK_BYTES and IM2COL_KC). Two settings with the same pair run
    the same computation."""
    cdef fc_geom g = _geometry(x_shape, w_shape, out_shape, stride, padding, (1, 1, 1),
                               groups)
    cdef int dt = 0 if itemsize == 4 else 1
    cdef int64_t cpass = _im2col_cpass(&g, pass_rows)
    cdef int64_t P = g.OD * g.OH * g.OW
    return cpass, im2col_blocks(cpass * g.KD * g.KH * g.KW, P, fc_gemm_nr_at(isa, dt),
                                itemsize, g.N * g.groups, num_threads, block_bytes)


def im2col(const floating[:, :, :, :, ::1] x, const floating[:, :, :, :, ::1] weight,
           bias, floating[:, :, :, :, ::1] out, tuple stride, tuple padding,
           tuple dilation, int64_t groups, int num_threads, int isa, packed=None,
           int64_t block_bytes=0, int64_t pass_rows=0):
    """im2col convolution as an implicit GEMM into ``out``.

    Per group, ``out[n, group] (Cog x P) = W_g (Cog x K) @ cols (K x P)`` with
    ``K = C/groups * KD*KH*KW`` and ``P = OD*OH*OW``. The unfolded input is
    never built whole: work items (image, group, block of output positions)
    pack their block straight into the GEMM's panel format in a per-thread
    workspace of ``K * block`` elements (see :func:`im2col_blocks`),
    and multiply it with the group's packed weights, in passes of whole input
    channels and at most ``IM2COL_KC`` rows of K (the bias is added in the
    first pass's epilogue). A pointwise problem
    (1x1x1 kernel, stride 1, no padding before or after) is not unfolded: its
    unfolded input *is* the input, ``x[n, group]`` as a ``Cg x P`` matrix, whose
    block's columns are packed as they are in one pass over all of K. (Read in
    place, each register tile took a cache line from each of the K input
    channels, and a panel read again for every row panel of the weights did
    not stay in L1: 1 thread, same process, against PyTorch, the packed form
    measured 0.86-1.09x PyTorch's time where in place measured 0.91-1.27x, on
    1x1 layers of 64 to 2048 channels on 7x7 to 56x56 maps, batch 1 and 8.)
    Without ``packed`` weights, the GEMM reads the weights in
    place (no per-call packing); few output positions per group also split
    the output channels among the threads. Extra memory: one block per thread.

    Parameters are those of :func:`direct`, and ``isa``, the GEMM's SIMD level
    (``fastconv._kernels._gemm``'s numbering), read once per call so packing and
    computing agree. ``packed``: the weights already packed by :func:`pack_a`
    for this ``isa`` (as ``(groups, C_out / groups, K)`` matrices), or None to
    pack them here. ``block_bytes`` and ``pass_rows``: the blocking (see
    :func:`im2col_blocking`; 0: the defaults); every choice gives the same bits.
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
    cdef bint pointwise = _pointwise(&g)
    cdef int64_t taps = g.KD * g.KH * g.KW
    # Input channels per pass, and the rows of K a pass packs.
    cdef int64_t cpass = _im2col_cpass(&g, pass_rows)
    cdef int64_t kpass = cpass * taps
    cdef int64_t nblk = im2col_blocks(kpass, P, nr, np.dtype(dtype).itemsize,
                                      g.N * g.groups, num_threads, block_bytes)
    # Whole panels per block (balanced_blocks makes at most one block per
    # panel): a block costs the GEMM its panels, full or not (an edge tile
    # is a whole register tile), so blocks cut within panels add panels:
    # 392 columns (a batch folded by the caller) in 13 blocks of 30 columns
    # computed 26 panels instead of 25. Measured against blocks cut at single
    # columns (1 and 2 threads, same process, 1x1 and 3x3 layers on 7x7 to
    # 56x56 maps): 0.91-1.03x, within noise but on the small maps.
    cdef int64_t unit = nr
    cdef int64_t ncolb = _block_width(nblk, P, unit, nr)       # the widest block
    cdef int64_t total = g.N * g.groups * nblk
    if total == 0 or M == 0:
        return out
    # Small outputs (few positions per image and group) also split the
    # output channels, in blocks of whole register panels, so every thread
    # gets work; the blocking does not change any element's sum.
    cdef int64_t mpanels = (M + mr - 1) // mr
    cdef int64_t nmb = 1
    if num_threads > 1 and total < 4 * num_threads:
        nmb = min(mpanels, (4 * num_threads + total - 1) // total)
    cdef int64_t mblk = (mpanels + nmb - 1) // nmb * mr
    nmb = (M + mblk - 1) // mblk
    total = total * nmb
    cdef int64_t asz = fc_packed_a_size_at(isa, M, K, dt)
    cdef bint prepacked = packed is not None
    # Without a plan the weights are read in place (lda = K): packing them
    # would cost a pass over all of them on every call.
    cdef const floating[::1] ap = packed if prepacked else None
    if prepacked and ap.shape[0] != g.groups * asz:
        raise ValueError(f"packed weights have {ap.shape[0]} elements, expected {g.groups * asz}")
    # Per-thread workspace: one packed block.
    cdef size_t ws_bytes = kpass * ncolb * sizeof(floating)
    cdef const floating[::1] xf = np.asarray(x).reshape(-1)
    cdef const floating[::1] wf = np.asarray(weight).reshape(-1)
    cdef const floating[::1] bf = (np.empty(0, dtype) if bias is None
                                   else np.ascontiguousarray(bias, dtype))
    cdef floating[::1] of = np.asarray(out).reshape(-1)
    cdef const floating *xp = _ptr(xf)
    cdef const floating *wp = &wf[0]
    cdef const floating *bp = _ptr(bf)
    cdef floating *op = &of[0]
    cdef const floating *app = &ap[0] if prepacked else NULL
    cdef int64_t t, r, n, grp, blk, p0, ncols, tid, nfull, ic0, ic1, kc, mb, m0, rows
    cdef floating *bpk
    cdef floating *cp
    cdef const floating *xg
    cdef const floating *bias_g
    cdef const floating *ag
    cdef int64_t lda = 0 if prepacked else K

    cdef fc_team team
    team_begin(&team, num_threads, <double>M * K * P * g.N * g.groups, total, ws_bytes)
    for t in prange(total, nogil=True, num_threads=team.threads, schedule="dynamic",
                    use_threads_if=team.threads > 1):
        if fc_team_stop(&team):
            continue
        tid = omp_get_thread_num()
        bpk = <floating *>fc_team_workspace(&team, tid)
        if bpk == NULL:
            continue
        r = t
        mb = r % nmb
        r = r // nmb
        blk = r % nblk
        r = r // nblk
        grp = r % g.groups
        n = r // g.groups
        p0 = _block_start(blk, nblk, P, unit)
        ncols = _block_start(blk + 1, nblk, P, unit) - p0
        m0 = mb * mblk
        rows = M - m0
        if rows > mblk:
            rows = mblk
        cp = op + (n * g.Co + grp * M + m0) * P + p0
        bias_g = bp + grp * M + m0 if bp != NULL else NULL
        # The rows [m0, m0 + rows) of the group's weights: packed panels, or
        # the matrix itself.
        if prepacked:
            ag = app + grp * asz + (m0 // mr) * K * mr
        else:
            ag = wp + (grp * M + m0) * K
        if pointwise:
            # The unfolded input is the input: its block's columns are packed
            # as they are, and one pass covers all of K.
            xg = xp + (n * g.C + grp * g.Cg) * P + p0
            pack_b_at(isa, K, ncols, xg, P, bpk)
            _gemm(isa, rows, ncols, K, ag, K * mr, lda, bpk, nr, K * nr, cp, P, bias_g, 0)
        else:
            ic0 = 0
            while ic0 < g.Cg:
                ic1 = ic0 + cpass if ic0 + cpass < g.Cg else g.Cg
                kc = (ic1 - ic0) * taps
                im2col_pack(&g, xp, n, grp, p0, ncols, ic0, ic1, nr, bpk)
                _gemm(isa, rows, ncols, kc, ag + ic0 * taps * (mr if prepacked else 1),
                      K * mr, lda, bpk, nr, kc * nr, cp, P, bias_g, ic0 > 0)
                ic0 = ic1
    team_end(&team)
    return out


cdef inline void _gemm(int isa, int64_t M, int64_t N, int64_t K, const floating *Ap,
                       int64_t a_pstride, int64_t lda, const floating *B, int64_t ldb,
                       int64_t b_pstride, floating *C, int64_t ldc, const floating *bias,
                       int accumulate) noexcept nogil:
    # A packed (lda = 0, panel stride a_pstride) or read in place (row stride
    # lda); B as gemm_ex_at takes it.
    if lda > 0:
        gemm_ai_at(isa, M, N, K, Ap, lda, B, ldb, b_pstride, C, ldc, bias, accumulate)
    else:
        gemm_ex_at(isa, M, N, K, Ap, a_pstride, B, ldb, b_pstride, C, ldc, bias, accumulate)


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


#: Rows of the transposed matrix packed together (:func:`pack_a_transposed`).
cdef int64_t PACK_T_ROWS = 16


def pack_a_transposed(const floating[:, :, ::1] at, int isa):
    """Pack each matrix ``at[i].T`` (``at[i]`` is K x M) as the GEMM's A
    operand at level ``isa``: the result of :func:`pack_a` on the transposes,
    without building them (a transposed copy of a large matrix is a strided
    pass over it; packing from the transpose copies runs of MR contiguous
    values). Returns one flat array: matrix ``i`` at offset
    ``i * packed_a_size(M, K)``.
    """
    cdef int dt = FC_DTYPE_F32 if floating is float else FC_DTYPE_F64
    dtype = np.float32 if floating is float else np.float64
    cdef int64_t B = at.shape[0], K = at.shape[1], M = at.shape[2]
    cdef int64_t asz = fc_packed_a_size_at(isa, M, K, dt)
    cdef int64_t mr = fc_gemm_mr_at(isa, dt)
    cdef floating[::1] ap = np.zeros(max(B * asz, 1), dtype)
    cdef int64_t i, p, k, r, rows, k0, k1
    cdef floating *dst
    cdef const floating *src
    if B * M * K == 0:
        return np.asarray(ap)[:B * asz]
    # Blocks of PACK_T_ROWS rows of at[i]: each panel's piece of a block
    # reads a few lines that stay in L1 for the next panels, and the rows
    # are read front to back, streams the prefetchers follow.
    with nogil:
        for i in range(B):
            k0 = 0
            while k0 < K:
                k1 = k0 + PACK_T_ROWS if k0 + PACK_T_ROWS < K else K
                for p in range((M + mr - 1) // mr):
                    rows = M - p * mr if M - p * mr < mr else mr
                    dst = &ap[i * asz + p * K * mr]
                    src = &at[i, 0, p * mr]
                    # panel p, column k: the MR values at[i, k, p*MR:(p+1)*MR]
                    # (rows past M stay zero)
                    for k in range(k0, k1):
                        for r in range(rows):
                            dst[k * mr + r] = src[k * M + r]
                k0 = k1
    return np.asarray(ap)


def winograd_blocks(int64_t P, int64_t Cg, int64_t tiles, int64_t nr, int64_t itemsize,
                    int64_t groups=1, int64_t threads=1, int64_t block_bytes=0):
    """The number of blocks the ``tiles`` are cut into: blocks of whole ``nr``
    panels of tiles near ``block_bytes`` (0: WINOGRAD_BLOCK_BYTES) of
    transformed input (P points x Cg channels per tile), balanced over
    ``groups`` and ``threads`` by :func:`balanced_blocks`."""
    if block_bytes <= 0:
        block_bytes = WINOGRAD_BLOCK_BYTES
    return balanced_blocks((tiles + nr - 1) // nr,
                           (block_bytes // max(P * Cg * itemsize, 1)) // nr, groups, threads)


def winograd(const floating[:, :, :, :, ::1] x, packed, bias, floating[:, :, :, :, ::1] out,
             tuple padding, tuple taps, int64_t groups, int num_threads, int isa,
             int64_t block_bytes=0):
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
    order fixed by the problem, so the result does not depend on the thread count
    nor on ``block_bytes``, the size of a block of transformed tiles (see
    :func:`winograd_blocks`; 0: the default).
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
    cdef int64_t nblk = winograd_blocks(g.P, K, tiles, nr, np.dtype(dtype).itemsize, groups,
                                        num_threads, block_bytes)
    cdef int64_t mpanels = (M + mr - 1) // mr
    cdef int64_t ncob = 1
    if nblk * groups < 4 * num_threads:
        ncob = min(mpanels, (4 * num_threads + nblk * groups - 1) // (nblk * groups))
    cdef int64_t mblk = (mpanels + ncob - 1) // ncob * mr
    ncob = (M + mblk - 1) // mblk
    cdef int64_t unit = _block_unit(tiles, nblk, nr)
    cdef int64_t ntp = _block_width(nblk, tiles, unit, nr)       # the widest block
    # Point strides padded by a cache line and a half: the P operands are
    # written side by side, and strides of a multiple of 4 KiB would put them
    # all in the same L1 cache sets.
    cdef int64_t vstride = K * ntp + WINOGRAD_STRIDE_PAD
    cdef int64_t mstride = mblk * ntp + WINOGRAD_STRIDE_PAD
    # Per-thread workspace: the transformed input tiles, then (from a cache
    # line boundary) the GEMM results.
    cdef int64_t vsize = (g.P * vstride + 15) // 16 * 16
    cdef size_t ws_bytes = (vsize + g.P * mstride) * sizeof(floating)
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
    cdef fc_team team
    team_begin(&team, num_threads, <double>tiles * g.P * K * g.Co, total, ws_bytes)
    for t in prange(total, nogil=True, num_threads=team.threads, schedule="dynamic",
                    use_threads_if=team.threads > 1):
        if fc_team_stop(&team):
            continue
        tid = omp_get_thread_num()
        vp = <floating *>fc_team_workspace(&team, tid)
        if vp == NULL:
            continue
        mp = vp + vsize
        r = t
        cob = r % ncob
        r = r // ncob
        grp = r % groups
        blk = r // groups
        t0 = _block_start(blk, nblk, tiles, unit)
        cnt = _block_start(blk + 1, nblk, tiles, unit) - t0
        co0 = cob * mblk
        rows = M - co0
        if rows > mblk:
            rows = mblk
        wino_input(isa, &g, xp, grp, t0, cnt, nr, vstride, vp)
        for p in range(g.P):
            gemm_packed_at(isa, rows, cnt, K,
                           upp + (p * groups + grp) * asz + (co0 // mr) * K * mr,
                           vp + p * vstride, mp + p * mstride, ntp, NULL, 0)
        wino_output(isa, &g, mp, ntp, mstride, grp * M + co0, rows, t0, cnt, bp, op)
    team_end(&team)
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
    # Not zeroed here: each panel's padding rows are zeroed by the thread that
    # computes the panel (zeroing the whole array took one thread 0.3 ms for
    # 256 x 256 channels, a seventh of a 2-thread call on 14 x 14).
    cdef floating[::1] ap = np.empty(max(P * groups * asz, 1), dtype)
    if P * groups * asz == 0:
        return np.asarray(ap)[:0]
    cdef int64_t mpan = (M + mr - 1) // mr
    cdef int64_t npanels = groups * mpan, q, rows, p, ci, r
    cdef int64_t ps = groups * asz
    cdef const floating *wp = &w[0, 0, 0, 0, 0]
    cdef floating *app = &ap[0]
    cdef floating *panel
    cdef fc_team team
    team_begin(&team, num_threads, <double>P * groups * asz, npanels, 0)
    for q in prange(npanels, nogil=True, num_threads=team.threads, schedule="dynamic",
                    use_threads_if=team.threads > 1):
        if fc_team_stop(&team):
            continue
        wino_weights(wp, Co, K, KD, KH, KW, groups, mr, asz, q, app)
        rows = M - (q % mpan) * mr
        if rows < mr:
            panel = app + (q // mpan) * asz + (q % mpan) * K * mr
            for p in range(P):
                for ci in range(K):
                    for r in range(rows, mr):
                        panel[p * ps + ci * mr + r] = 0
    team_end(&team)
    return np.asarray(ap)
