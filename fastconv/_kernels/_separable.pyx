"""Fused depthwise-separable convolution: depthwise, then pointwise (1x1), then bias.

The depthwise result (``C * m`` channels at the output resolution) is never
built whole. Work items are (image, band of output rows); each computes its
band of the depthwise result for every channel into a per-thread tile
(``C * m`` rows of ``band * OW`` values, sized to stay in the L2 cache), packs
it as the GEMM's B operand and multiplies it with the pointwise weights,
packed once per call, straight into the band's columns of the output, the
bias added in the GEMM's epilogue.

Each item owns disjoint output columns (all output channels of its band) and
sums in an order fixed by the problem, so results are bitwise identical for
any thread count; the depthwise values are those of fastconv's direct
depthwise kernel and the pointwise sums those of its GEMM.
"""
from libc.stdint cimport int64_t
from cython.parallel cimport prange

import numpy as np

from fastconv._kernels._fused cimport floating
from fastconv._kernels._openmp cimport omp_get_thread_num
from fastconv._kernels._gemm cimport (
    FC_DTYPE_F32, FC_DTYPE_F64, fc_packed_a_size_at, fc_packed_b_size_at, gemm_packed_at,
    pack_a_at, pack_b_at)
from fastconv._kernels.kernels cimport fc_geom, separable_dw_rows

#: Bytes of depthwise result one band holds (its tile; the packed copy is as
#: large): together about half of a 512 KiB L2 cache.
SEPARABLE_TILE_BYTES = 128 * 1024


def band_rows(int64_t cm, int64_t OH, int64_t OW, int64_t itemsize, int64_t n_images,
              int num_threads):
    """Output rows per band: the tile near SEPARABLE_TILE_BYTES, at least one
    row, and small enough that every thread gets a few bands."""
    cdef int64_t rows = SEPARABLE_TILE_BYTES // max(cm * OW * itemsize, 1)
    rows = max(1, min(rows, OH))
    # at least 2 bands per thread when the problem has enough rows
    while rows > 1 and n_images * ((OH + rows - 1) // rows) < 2 * num_threads:
        rows = (rows + 1) // 2
    return rows


def separable(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] dw_weight,
              const floating[:, ::1] pw_weight, bias, floating[:, :, :, ::1] out,
              tuple stride, tuple padding, tuple dilation, int num_threads, int isa):
    """Fused depthwise-separable convolution into ``out`` (every element written).

    Parameters
    ----------
    x : (N, C, H, W) array
        Already padded when the padding mode is not zeros (``padding`` is then 0).
    dw_weight : (C * m, 1, KH, KW) array
        Depthwise filters, channel multiplier ``m``.
    pw_weight : (Co, C * m) array
        Pointwise weights.
    bias : (Co,) array of the same dtype, or None
    out : (N, Co, OH, OW) array
    stride, padding, dilation : tuple of 2 ints
        Of the depthwise stage; ``padding`` is the zero padding before each dim.
    num_threads : int
    isa : int
        SIMD level (``fastconv._kernels._gemm``'s numbering), for both stages.
    """
    cdef fc_geom g
    g.N, g.C, g.H, g.W = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
    g.D = 1
    g.Co = dw_weight.shape[0]
    g.groups = g.C
    g.Cg = 1
    g.Cog = g.Co // g.C
    g.KD, g.KH, g.KW = 1, dw_weight.shape[2], dw_weight.shape[3]
    g.OD, g.OH, g.OW = 1, out.shape[2], out.shape[3]
    g.sd, g.sh, g.sw = 1, stride[0], stride[1]
    g.pd, g.ph, g.pw = 0, padding[0], padding[1]
    g.dd, g.dh, g.dw = 1, dilation[0], dilation[1]
    cdef int64_t Cm = g.Co
    cdef int64_t Co = pw_weight.shape[0]
    cdef int64_t P = g.OH * g.OW
    cdef int dt = FC_DTYPE_F32 if floating is float else FC_DTYPE_F64
    dtype = np.float32 if floating is float else np.float64
    cdef int64_t itemsize = np.dtype(dtype).itemsize
    if g.N == 0 or Co == 0 or P == 0:
        return out
    cdef int64_t rows = band_rows(Cm, g.OH, g.OW, itemsize, g.N, num_threads)
    cdef int64_t nband = (g.OH + rows - 1) // rows
    cdef int64_t total = g.N * nband
    cdef int64_t tcols = rows * g.OW
    cdef int64_t asz = fc_packed_a_size_at(isa, Co, Cm, dt)
    cdef int64_t bsz = fc_packed_b_size_at(isa, Cm, tcols, dt)
    cdef floating[::1] ap = np.empty(asz, dtype)
    cdef floating[:, ::1] ws = np.empty((num_threads, Cm * tcols + bsz), dtype)
    cdef const floating[::1] zrow = np.zeros(max(g.W, 1), dtype)
    cdef const floating[::1] bf = (np.empty(0, dtype) if bias is None
                                   else np.ascontiguousarray(bias, dtype))
    cdef const floating *xp = &x[0, 0, 0, 0]
    cdef const floating *wp = &dw_weight[0, 0, 0, 0]
    cdef const floating *bp = &bf[0] if bf.shape[0] else NULL
    cdef const floating *zp = &zrow[0]
    cdef floating *op = &out[0, 0, 0, 0]
    cdef floating *app = &ap[0]
    cdef int64_t t, n, band, oh0, nrows, ncols, tid, oc
    cdef floating *tile
    cdef floating *bpk

    with nogil:
        pack_a_at(isa, Co, Cm, &pw_weight[0, 0], Cm, app)
    for t in prange(total, nogil=True, num_threads=num_threads, schedule="static"):
        tid = omp_get_thread_num()
        band = t % nband
        n = t // nband
        oh0 = band * rows
        nrows = g.OH - oh0
        if nrows > rows:
            nrows = rows
        ncols = nrows * g.OW
        tile = &ws[tid, 0]
        bpk = tile + Cm * tcols
        for oc in range(Cm):
            separable_dw_rows(isa, &g, xp, wp, tile + oc * ncols, zp, n, oc, oh0, nrows)
        pack_b_at(isa, Cm, ncols, tile, ncols, bpk)
        gemm_packed_at(isa, Co, ncols, Cm, app, bpk, op + n * Co * P + oh0 * g.OW, P, bp, 0)
    return out
