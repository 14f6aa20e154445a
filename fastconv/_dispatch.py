"""Choose the algorithm for a validated problem, and run it.

The ``auto`` rule (:func:`choose_algorithm`) is decided from measurements of
``python -m fastconv bench`` on the development machine (2-core AMD EPYC,
AVX2+FMA, float32, 1 and 2 threads); the figures are in the docs' Algorithms
page.

* Winograd F(2, 3) wins on 3-tap stride-1 layers with enough channels per
  group (>= 16 in and out) for its 16 GEMMs, when the per-call weight
  transform and the tile transforms are amortised. Measured against im2col,
  1 thread, 3x3 layers of C -> C channels on an H x H input (H/2 squared
  tiles): 196 tiles, 0.66 (C = 128) and 0.89 (C = 32); 49 tiles, 0.88
  (C = 256), 0.98 (C = 128) and 1.41 (C = 64); 16 tiles, 3.3 (C = 512). So a
  plain call needs ``WINOGRAD_MIN_TILES`` output tiles, or
  ``WINOGRAD_FEW_TILES`` with ``WINOGRAD_WIDE_CHANNELS`` channels per group in
  and out, where the GEMMs outweigh the transforms; a plan transforms the
  weights once and drops the tile condition. On the suite's other 3-tap
  stride-1 layers it took 0.44-0.75x im2col's time.
* im2col (implicit GEMM) wins as soon as each group has enough output
  channels and enough reduction length for the GEMM's register tile to be
  filled: ``C_out / groups >= 8`` and ``C_in / groups * prod(kernel) >= 16``.
* direct wins on the rest: depthwise and small groups (few output channels per
  group), and single-channel images, where a GEMM's M dimension is tiny.
"""
import math
import os
import warnings

import numpy as np

from fastconv._args import kernel_padding, winograd_reason
from fastconv._kernels import _conv, _gemm
from fastconv._threads import get_num_threads

IM2COL_MIN_CHANNELS_PER_GROUP = 8
IM2COL_MIN_REDUCTION = 16
WINOGRAD_MIN_CHANNELS_PER_GROUP = 16
WINOGRAD_MIN_TILES = 100
WINOGRAD_FEW_TILES = 40
WINOGRAD_WIDE_CHANNELS = 192


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


def winograd_tiles(problem):
    """Output tiles of a Winograd F(2, 3) computation: 2 positions per tile
    along each 3-tap axis, 1 along the others, over the whole batch."""
    tiles = problem.n
    for k, o in zip(problem.kernel, problem.out_spatial):
        tiles *= (o + 1) // 2 if k == 3 else o
    return tiles


def _winograd_amortised(tiles, cig, cog):
    """Enough tiles to pay for a plain call's weight and tile transforms."""
    return tiles >= WINOGRAD_MIN_TILES or (
        tiles >= WINOGRAD_FEW_TILES and min(cig, cog) >= WINOGRAD_WIDE_CHANNELS)


def choose_algorithm(problem, planned=False):
    """The algorithm that ``algorithm="auto"`` runs for ``problem``.

    ``planned``: the weights are prepared once by a plan, so Winograd's
    weight transform costs nothing per call.
    """
    if problem.algorithm != "auto":
        return problem.algorithm
    cog = problem.c_out // problem.groups
    cig = problem.c_in // problem.groups
    if (winograd_reason(problem.kernel, problem.stride) is None
            and cig >= WINOGRAD_MIN_CHANNELS_PER_GROUP
            and cog >= WINOGRAD_MIN_CHANNELS_PER_GROUP
            and (planned or _winograd_amortised(winograd_tiles(problem), cig, cog))):
        return "winograd"
    reduction = cig * math.prod(problem.kernel)
    if cog >= IM2COL_MIN_CHANNELS_PER_GROUP and reduction >= IM2COL_MIN_REDUCTION:
        return "im2col"
    return "direct"


def winograd_weights(weight5, groups, isa):
    """The weights transformed (``G g G^T`` along each 3-tap axis, in float64)
    and packed for the GEMM at level ``isa``: one matrix per (point, group)."""
    return _conv.winograd_weights(weight5, groups, isa, get_num_threads())


def _subgrid(o, d, p):
    """Space-to-batch along one axis: output residue ``o`` of dilation ``d``
    reads the input sub-grid starting at ``s`` with ``c`` leading positions
    skipped (c > 0) or zero-padded (c < 0)."""
    s = (o - p) % d
    return s, (o - p - s) // d


def run_winograd(x5, packed, bias, o5, padding, taps, dilation, groups, threads, isa):
    """Winograd F(2, 3) into ``o5``; a dilated kernel is applied to the
    ``prod(dilation)`` interleaved sub-grids of the input, each convolved with
    the undilated kernel (the space-to-batch identity), never by inflating it."""
    if all(d == 1 for d in dilation):
        _conv.winograd(x5, packed, bias, o5, tuple(padding), tuple(taps), groups, threads, isa)
        return
    ranges = [range(min(d, o)) if k == 3 else range(1)
              for d, o, k in zip(dilation, o5.shape[2:], taps)]
    # Sub-grids of the same shape and padding (all of them when the sizes
    # divide evenly) are stacked along the batch: one call, more tiles to
    # share among the threads.
    stacks = {}
    for residues in np.ndindex(*[len(r) for r in ranges]):
        xs, os_, pads = [slice(None)] * 2, [slice(None)] * 2, []
        for r, d, p, k in zip(residues, dilation, padding, taps):
            if k != 3 or d == 1:
                xs.append(slice(None))
                os_.append(slice(None))
                pads.append(p)
                continue
            s, c = _subgrid(r, d, p)
            xs.append(slice(s + max(c, 0) * d, None, d))
            os_.append(slice(r, None, d))
            pads.append(max(-c, 0))
        sub_x, target = x5[tuple(xs)], o5[tuple(os_)]
        key = (sub_x.shape, target.shape, tuple(pads))
        stacks.setdefault(key, []).append((sub_x, target))
    for (_, o_shape, pads), members in stacks.items():
        sub_x = np.concatenate([m[0] for m in members], axis=0)
        sub_o = np.empty((len(members) * o_shape[0],) + o_shape[1:], dtype=o5.dtype)
        _conv.winograd(sub_x, packed, bias, sub_o, pads, tuple(taps), groups, threads, isa)
        for i, (_, target) in enumerate(members):
            target[...] = sub_o[i * o_shape[0]:(i + 1) * o_shape[0]]


def as_3d(values, fill):
    """Spatial tuples of 1-D and 2-D problems, led by dims of size ``fill``."""
    return (fill,) * (3 - len(values)) + tuple(values)


def _weight5(problem, weight):
    return weight.reshape(weight.shape[:2] + as_3d(problem.kernel, 1))


def prepare_weights(problem, weight, algorithm, isa):
    """What ``algorithm`` can compute once per weight at SIMD level ``isa``:
    the transformed and packed weights of winograd, the packed weights of
    im2col, nothing for direct. A plan keeps it for every later call."""
    w5 = _weight5(problem, weight)
    if algorithm == "winograd":
        return winograd_weights(w5, problem.groups, isa)
    if algorithm == "im2col":
        g = problem.groups
        return _conv.pack_a(w5.reshape(g, problem.c_out // g, -1), isa)
    return None


def run_conv(problem, x, weight, bias, out, *, algorithm=None, isa=None, packed=None):
    """Compute ``problem`` into ``out`` (or a new array); return the result.

    ``x``, ``weight``, ``bias`` come from :func:`fastconv._args.prepare_conv`.
    A plan passes the ``algorithm`` it chose, the SIMD level ``isa`` it packed
    for and the ``packed`` weights of :func:`prepare_weights`; a plain call
    chooses and prepares here.
    """
    result = out
    if result is None or not result.flags.c_contiguous:
        result = np.empty(problem.out_shape, dtype=problem.dtype)
    if result.size:
        x5 = x.reshape(x.shape[:2] + as_3d(x.shape[2:], 1))
        w5 = _weight5(problem, weight)
        o5 = result.reshape((problem.n, problem.c_out) + as_3d(problem.out_spatial, 1))
        padding = as_3d(kernel_padding(problem), 0)
        threads = get_num_threads()
        if isa is None:
            isa = isa_level()
        if algorithm is None:
            algorithm = choose_algorithm(problem)
        if packed is None:
            packed = prepare_weights(problem, weight, algorithm, isa)
        if algorithm == "winograd":
            run_winograd(x5, packed, bias, o5, padding, as_3d(problem.kernel, 1),
                         as_3d(problem.dilation, 1), problem.groups, threads, isa)
        elif algorithm == "im2col":
            _conv.im2col(x5, w5, bias, o5, as_3d(problem.stride, 1), padding,
                         as_3d(problem.dilation, 1), problem.groups, threads, isa, packed)
        else:
            _conv.direct(x5, w5, bias, o5, as_3d(problem.stride, 1), padding,
                         as_3d(problem.dilation, 1), problem.groups, threads, isa)
    if out is not None and result is not out:
        out[...] = result
        return out
    return result
