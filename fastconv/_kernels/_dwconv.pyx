"""Depthwise convolution kernels with the kernel size and stride fixed at
compile time (dwconv.h): dw3x3s1, dw3x3s2, dw5x5s1, dw5x5s2, dw7x7s1,
dw7x7s2.

2-D, channels-first, square kernels of 3, 5 or 7 taps, stride 1 or 2 in both
dims, no dilation, any zero padding, any channel multiplier. Work items
(image, output channel, block of output rows) each own a disjoint part of the
output (maps narrower than a vector: image and a vector's worth of channels,
vectorised across the channels); every output element is summed in the order bias, (kh, kw), so the
result does not depend on the thread count (and equals the general direct
kernel's).
"""
from libc.stdint cimport int64_t
from cython.parallel cimport prange

import numpy as np

from fastconv._kernels._fused cimport floating
from fastconv._kernels._openmp cimport (
    omp_get_thread_num, fc_team, fc_team_stop, fc_team_workspace, schedule_chunk, team_begin,
    team_end)

from fastconv._kernels.kernels cimport (
    dw_item, dwcv_item, fc_dw_buffer_size, fc_dw_plan, fc_dw_supported, fc_dwcv_buffer_size,
    fc_dwcv_lanes, fc_dwgeom)

#: Output maps at most this wide (and a channel multiplier of 1) run the
#: channel-vectorised kernel (:func:`depthwise`) at levels whose vectors hold
#: DWCV_LANES elements (float32 with AVX2, float64 with AVX-512: its 8 x 8
#: transposes). Measured against the row kernels (1 thread, same process,
#: alternating, AVX2 float32, a loaded machine): 7 x 7 outputs (3x3, 5x5,
#: 7x7 taps, stride 1 and 2, batch 1 and 8, 100 to 1152 channels)
#: 0.54-0.89x, one 0.98x (0.52-0.85x PyTorch's time), 8 x 8 0.61x; 9 to 14
#: wide 0.85-0.96x at batch 1 but 1.11-1.20x at batch 8, so those stay on
#: the row kernels. Without the transposes (other vector widths) it measured
#: 0.80-0.94x at 7 x 7 and lost on wider maps and in float64 with 4 lanes.
DWCV_MAX_OW = 8
DWCV_LANES = 8


def supported(int64_t kernel, int64_t stride):
    """Whether the family has a kernel for ``kernel x kernel`` taps and ``stride``.

    Examples
    --------
    >>> from fastconv._kernels import _dwconv
    >>> _dwconv.supported(5, 2), _dwconv.supported(9, 1)
    (True, False)
    """
    return bool(fc_dw_supported(kernel, stride))


def depthwise(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] weight, bias,
              floating[:, :, :, ::1] out, int64_t stride, tuple padding, int num_threads,
              int isa):
    """Depthwise convolution into ``out`` (every element written).

    Parameters
    ----------
    x : (N, C, H, W) array
    weight : (C * m, 1, K, K) array of the same dtype, K in (3, 5, 7)
    bias : (C * m,) array of the same dtype, or None
    out : (N, C * m, OH, OW) array of the same dtype
    stride : int
        1 or 2 (both dims).
    padding : (int, int)
        The zero padding before the rows and before the columns (the padding
        after them follows from the sizes).
    num_threads : int
    isa : int
        SIMD level (``fastconv._kernels._gemm``'s numbering); a level this CPU
        does not support runs the baseline code.
    """
    cdef fc_dwgeom g
    g.N, g.C, g.H, g.W = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
    g.Co, g.OH, g.OW = out.shape[1], out.shape[2], out.shape[3]
    g.K, g.S = weight.shape[2], stride
    g.pt, g.pl = padding
    if not fc_dw_supported(g.K, g.S) or weight.shape[3] != g.K or weight.shape[1] != 1:
        raise ValueError(f"no depthwise kernel for weight {tuple(weight.shape)[:4]} and "
                         f"stride {stride}")
    if g.Co % g.C or out.shape[0] != g.N or weight.shape[0] != g.Co:
        raise ValueError(f"shapes do not match: x {tuple(x.shape)[:4]}, weight "
                         f"{tuple(weight.shape)[:4]}, out {tuple(out.shape)[:4]}")
    if g.N * g.Co * g.OH * g.OW == 0:
        return out
    cdef int dt = 0 if floating is float else 1
    dtype = np.float32 if floating is float else np.float64
    # Small maps (a 7 x 7 row is less than a vector, and the row kernels'
    # per-row staging and tails cost more than its arithmetic): items of
    # `lanes` consecutive channels of one image, vectorised across the
    # channels (fc_dwcv_item). Else items of RB output rows of one channel.
    cdef int64_t lanes = fc_dwcv_lanes(isa, dt)
    cdef bint by_channels = g.Co == g.C and g.OW <= DWCV_MAX_OW and lanes == DWCV_LANES
    cdef int64_t nrb = 0, nblk = 0, total
    cdef size_t ws_bytes
    if by_channels:
        nblk = (g.C + lanes - 1) // lanes
        total = g.N * nblk
        ws_bytes = fc_dwcv_buffer_size(isa, dt, &g) * sizeof(floating)
        g.SW = 1                                  # (the zero row is not read)
    else:
        fc_dw_plan(isa, dt, &g)
        nrb = (g.OH + g.RB - 1) // g.RB
        total = g.N * g.Co * nrb
        ws_bytes = fc_dw_buffer_size(&g) * sizeof(floating)
    cdef const floating[::1] zrow = np.zeros(g.SW, dtype)
    cdef const floating[::1] bf = (np.empty(0, dtype) if bias is None
                                   else np.ascontiguousarray(bias, dtype))
    cdef const floating *xp = &x[0, 0, 0, 0]
    cdef const floating *wp = &weight[0, 0, 0, 0]
    cdef const floating *bp = &bf[0] if bf.shape[0] else NULL
    cdef const floating *zp = &zrow[0]
    cdef floating *op = &out[0, 0, 0, 0]
    cdef floating *buf
    cdef int64_t t, r, n, oc, oh, nb
    cdef fc_team team
    team_begin(&team, num_threads, <double>g.N * g.Co * g.OH * g.OW * g.K * g.K, total,
               ws_bytes)
    cdef int64_t chunk = schedule_chunk(total, team.threads)
    for t in prange(total, nogil=True, num_threads=team.threads, schedule="dynamic",
                    chunksize=chunk, use_threads_if=team.threads > 1):
        if fc_team_stop(&team):
            continue
        buf = <floating *>fc_team_workspace(&team, omp_get_thread_num())
        if buf == NULL:
            continue
        if by_channels:
            n = t // nblk
            oc = (t % nblk) * lanes               # the first channel, and how many
            nb = g.C - oc
            if nb > lanes:
                nb = lanes
            dwcv_item(isa, &g, xp, wp, bp, op, buf, n, oc, nb)
            continue
        r = t
        oh = (r % nrb) * g.RB
        r = r // nrb
        oc = r % g.Co
        n = r // g.Co
        nb = g.OH - oh
        if nb > g.RB:
            nb = g.RB
        dw_item(isa, &g, xp, wp, bp, op, buf, zp, n, oc, oh, nb)
    team_end(&team)
    return out
