"""Choose the algorithm for a validated problem, and run it.

The ``auto`` rule (:func:`choose_algorithm`) is decided from measurements of
``python -m fastconv bench`` on the development machine (2-core AMD EPYC,
AVX2+FMA, float32, 1 and 2 threads); the figures are in the docs' Algorithms
page. On every layer of the bench suite the rule picks the faster of the two
(im2col 2-10x faster on the dense layers; direct 1.7-6.7x faster on the
depthwise, 32-group and single-channel ones).

* im2col (implicit GEMM) wins as soon as each group has enough output
  channels and enough reduction length for the GEMM's register tile to be
  filled: ``C_out / groups >= 8`` and ``C_in / groups * prod(kernel) >= 16``.
* direct wins on the rest: depthwise and small groups (few output channels per
  group), and single-channel images, where a GEMM's M dimension is tiny.
"""
import os
import warnings

import numpy as np

from fastconv._args import kernel_padding
from fastconv._kernels import _conv, _gemm
from fastconv._threads import get_num_threads

IM2COL_MIN_CHANNELS_PER_GROUP = 8
IM2COL_MIN_REDUCTION = 16


def select_isa_from_environment():
    """Apply ``FASTCONV_ISA`` (``generic``, ``avx2``, ``avx512``) once, at import.

    It may only lower the level: a level this CPU or build does not support,
    or an unknown name, is reported with a warning and the best supported
    level is kept (an import never fails on it).
    """
    name = os.environ.get("FASTCONV_ISA", "").strip().lower()
    if not name:
        return
    try:
        _gemm.isa_set(name)
    except ValueError as exc:
        warnings.warn(f"FASTCONV_ISA={name!r} ignored: {exc}", RuntimeWarning, stacklevel=2)


def isa_level():
    """The SIMD level in use, as the kernels number it."""
    return _gemm.ISA_LEVELS.index(_gemm.isa_get())


def choose_algorithm(problem):
    """The algorithm that ``algorithm="auto"`` runs for ``problem``."""
    if problem.algorithm != "auto":
        return problem.algorithm
    cog = problem.c_out // problem.groups
    reduction = problem.c_in // problem.groups * int(np.prod(problem.kernel))
    if cog >= IM2COL_MIN_CHANNELS_PER_GROUP and reduction >= IM2COL_MIN_REDUCTION:
        return "im2col"
    return "direct"


def _as_3d(values, fill):
    """Spatial tuples of 1-D and 2-D problems, led by dims of size ``fill``."""
    return (fill,) * (3 - len(values)) + tuple(values)


def run_conv(problem, x, weight, bias, out):
    """Compute ``problem`` into ``out`` (or a new array); return the result.

    ``x``, ``weight``, ``bias`` come from :func:`fastconv._args.prepare_conv`.
    """
    result = out
    if result is None or not result.flags.c_contiguous:
        result = np.empty(problem.out_shape, dtype=problem.dtype)
    if result.size:
        x5 = x.reshape(x.shape[:2] + _as_3d(x.shape[2:], 1))
        w5 = weight.reshape(weight.shape[:2] + _as_3d(problem.kernel, 1))
        o5 = result.reshape((problem.n, problem.c_out) + _as_3d(problem.out_spatial, 1))
        args = (x5, w5, bias, o5, _as_3d(problem.stride, 1),
                _as_3d(kernel_padding(problem), 0), _as_3d(problem.dilation, 1),
                problem.groups, get_num_threads(), isa_level())
        kernel = {"direct": _conv.direct, "im2col": _conv.im2col}[choose_algorithm(problem)]
        kernel(*args)
    if out is not None and result is not out:
        out[...] = result
        return out
    return result
