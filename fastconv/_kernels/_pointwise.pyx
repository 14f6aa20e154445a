"""1x1 convolution of few pixels as matrix times a few vectors (pointwise.h:
pw1x1gemv).

For every image and group, ``out = W x``: the group's ``(C_out/groups x
C_in/groups)`` weight matrix times its input channels at each of the P
pixels (1x1 kernel, stride 1, no padding), each output element a dot product
vectorised along the channels. Work items (image, group, block of
FC_PW_OCB output channels) each own a disjoint part of the output, and each
element is summed in an order fixed by the kernel alone, so the result does
not depend on the thread count.
"""
from libc.stdint cimport int64_t
from cython.parallel cimport prange

import numpy as np

from fastconv._kernels._fused cimport floating
from fastconv._kernels._openmp cimport fc_team, fc_team_stop, team_begin, team_end

from fastconv._kernels.kernels cimport FC_PW_OCB, fc_pwgeom, pw_item


def pointwise(const floating[:, :, ::1] x, const floating[:, ::1] weight, bias,
              floating[:, :, ::1] out, int64_t groups, int num_threads, int isa):
    """1x1 convolution (stride 1, no padding) into ``out`` (every element written).

    Parameters
    ----------
    x : (N, C, P) array
        The input, its spatial dims flattened into P pixels.
    weight : (Co, C // groups) array of the same dtype
    bias : (Co,) array of the same dtype, or None
    out : (N, Co, P) array of the same dtype
    groups, num_threads : int
    isa : int
        SIMD level (``fastconv._kernels._gemm``'s numbering); a level this CPU
        does not support runs the baseline code.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv._kernels import _pointwise
    >>> x = np.arange(6, dtype=np.float32).reshape(1, 3, 2)
    >>> w = np.ones((2, 3), np.float32)
    >>> out = np.empty((1, 2, 2), np.float32)
    >>> _pointwise.pointwise(x, w, None, out, 1, 1, 0)[0].tolist()
    [[6.0, 9.0], [6.0, 9.0]]
    """
    cdef fc_pwgeom g
    g.N, g.C, g.P = x.shape[0], x.shape[1], x.shape[2]
    g.Co, g.groups = out.shape[1], groups
    if (groups < 1 or g.C % groups or g.Co % groups or weight.shape[0] != g.Co
            or weight.shape[1] * groups != g.C or out.shape[0] != g.N
            or out.shape[2] != g.P):
        raise ValueError(f"shapes do not match: x {tuple(x.shape)[:3]}, weight "
                         f"{tuple(weight.shape)[:2]}, out {tuple(out.shape)[:3]}, "
                         f"groups {groups}")
    if bias is not None and len(bias) != g.Co:
        raise ValueError(f"bias has {len(bias)} values for {g.Co} output channels")
    if g.N * g.Co * g.P == 0:
        return out
    dtype = np.float32 if floating is float else np.float64
    # Pixel-major input: a pixel's channels contiguous (a copy only when P > 1).
    cdef const floating[:, :, ::1] xt = (x if g.P == 1 else
                                         np.ascontiguousarray(np.asarray(x).transpose(0, 2, 1)))
    cdef const floating[::1] bf = (np.empty(0, dtype) if bias is None
                                   else np.ascontiguousarray(bias, dtype))
    cdef const floating *xp = &xt[0, 0, 0]
    cdef const floating *wp = &weight[0, 0] if weight.shape[1] else NULL
    cdef const floating *bp = &bf[0] if bf.shape[0] else NULL
    cdef floating *op = &out[0, 0, 0]
    cdef int64_t cog = g.Co // groups
    cdef int64_t nob = (cog + FC_PW_OCB - 1) // FC_PW_OCB
    cdef int64_t total = g.N * groups * nob
    cdef int64_t t, r, n, grp, oc0, nb
    cdef fc_team team
    team_begin(&team, num_threads, <double>g.N * g.Co * g.P * (g.C // groups), total, 0)
    for t in prange(total, nogil=True, num_threads=team.threads, schedule="static",
                    use_threads_if=team.threads > 1):
        if fc_team_stop(&team):
            continue
        r = t
        oc0 = (r % nob) * FC_PW_OCB
        r = r // nob
        grp = r % groups
        n = r // groups
        nb = cog - oc0
        if nb > FC_PW_OCB:
            nb = FC_PW_OCB
        pw_item(isa, &g, xp, wp, bp, op, n, grp, oc0, nb)
    team_end(&team)
    return out
