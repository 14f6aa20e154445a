"""Choose the algorithm for a validated problem, and run it.

The ``auto`` rule (:func:`choose_algorithm`) is decided from measurements of
``python -m fastconv bench`` on the development machine (2-core AMD EPYC,
AVX2+FMA, float32, 1 and 2 threads); the figures are in the docs' Algorithms
page.

* Winograd F(2, 3) wins on 3-tap stride-1 layers with enough channels per
  group (>= 16 in and out) for its 16 GEMMs, when the per-call weight
  transform and the tile transforms are amortised. Measured against im2col
  (3x3 layers of C -> C channels on an H x H input, H/2 squared tiles, batch
  1, idle machine, 1 / 2 threads): 100 tiles, 0.87-0.91 / 0.83-0.94 (C = 384,
  512); 49 to 81 tiles, 0.84-0.89 / 0.64-0.73 at C = 192 to 320, 1.02 / 0.83
  at 128, but 1.07 / 0.89 at 384 and 1.17 / 1.07 at 512, where the 16
  transformed weight matrices (9.4 and 16.8 MB) no longer stay in cache
  while few tiles use them; 25 and 36 tiles, 1.20-1.40 / 0.90-1.29. So a
  plain call needs ``WINOGRAD_MIN_TILES`` output tiles, or
  ``WINOGRAD_FEW_TILES`` with ``WINOGRAD_WIDE_CHANNELS`` channels per group in
  and out and transformed weights of at most ``WINOGRAD_FEW_TILES_MAX_BYTES``;
  a plan transforms the weights once and drops the tile condition. On the suite's other 3-tap
  stride-1 layers it took 0.44-0.75x im2col's time. Only up to a dilation
  of ``WINOGRAD_MAX_DILATION``: its time over im2col's (1 thread, 3-tap
  layers, padding = dilation), by dilation 1, 2, 4, 8, 16, 64:
  conv1d 128 channels x 4000 samples 0.83, 0.96, 0.99, 1.04, 1.26, 1.35;
  64 x 16000 0.61, 0.79, 0.81, 0.85, 1.21, 1.15; conv2d 128 channels at
  56x56, by dilation 1, 2, 4, 6, 8, 12: 0.70, 0.73, 0.82, 1.26, 1.18, 1.54;
  256 at 33x33: 0.62, 0.82, 0.92, 1.22, 1.07, 1.82.
* im2col (implicit GEMM) wins as soon as each group has enough output
  channels and enough reduction length for the GEMM's register tile to be
  filled: ``C_out / groups >= 8`` and ``C_in / groups * prod(kernel) >= 16``;
  and on 1x1 layers of ``C_in / groups >= 32`` whatever ``C_out`` (the GEMM
  reads the input in place; 1 thread, 64 input channels to 1, 2, 3 and 5
  output channels on 97x97 to 388x388 maps: im2col took 0.12-0.7x the direct
  kernel's time).
* 1x1 layers (stride 1, no padding) over few pixels, ``N * prod(spatial)
  <= POINTWISE_GEMV_MAX_PIXELS`` (squeeze-and-excitation layers on their
  pooled 1x1 map, late layers on 2x2 and 3x3 maps), whatever the channels:
  im2col, whose GEMM runs as a matrix times a few vectors (``_pointwise``),
  the weights read once in place; the GEMM's 16-column panel would carry
  at most a few useful columns. Only ``auto`` takes this path: an explicit
  ``algorithm="im2col"`` (as a chunked run pins it for its blocks) keeps the
  GEMM, whose bits do not depend on the number of pixels. Measured against the GEMM path (1 thread,
  float32 and float64, 64 -> 64 up to 1280 -> 320 and 320 -> 1280
  channels): 0.26-0.97x its time at 1 to 4 pixels (one 1.06), 0.36-1.85x at
  6, 0.79-1.21x at 9; the table is in the docs' Algorithms page.
* direct comes first for grouped 1-D and 2-D layers (``groups >= 2``, more
  than one tap) of 2 to
  ``GRID_CHANNELS_PER_GROUP`` input channels per group, or up to
  ``GRID_WIDE_CHANNELS_PER_GROUP`` on maps of at most ``GRID_WIDE_MAX_PIXELS``
  output pixels: its grid kernel (a register tile of 4 output channels x 3
  vectors of positions over the whole reduction) took 0.3-0.9x the time of
  the best of im2col and Winograd on ResNeXt-50 32x4d's grouped 3x3 layers
  (4 to 32 channels per group, stride 1 and 2, 56x56 to 7x7 maps, batch 1 and
  8) and on 4- and 8-group layers of 16 to 64 channels per group at 7x7 to
  28x28 (1 thread, same process); at 64 channels per group on 28x28 and
  56x56 maps Winograd took 0.5-0.85x its time. The table is in the docs'
  Algorithms page.
* direct comes first, too, for dense 2-D layers of 2 to
  ``GRID_DENSE_CHANNELS`` input and at most ``GRID_DENSE_MAX_OUT`` output
  channels (:func:`dense_grid`: RGB stems, the first layers of small
  networks): the grid kernel took 0.45-1.06x the time of the best of im2col
  and Winograd at 1 thread, 0.39-1.04x at 2 (2 to 16 input channels, 8 to 64
  output channels, 3x3 and 5x5 taps, stride 1 and 2, dilation 2, 7x7 to
  512x512 maps, batch 1 to 8; same process, minimum of interleaved runs).
  With 96 to 300 output channels the GEMM won by up to 1.25x, and 7x7
  stride-2 stems measured 0.91-1.30x, so these stay on the other rules.
* direct wins on the rest: depthwise and small groups (few output channels per
  group), and single-channel images, where a GEMM's M dimension is tiny.

Wisdom (:mod:`fastconv._tuning`) comes before these rules: when a measured
entry matches the problem, the thread count and the machine, ``auto`` runs
the algorithm and kernel variant it names (:func:`choose`). :func:`tune`
measures a problem's candidates (:func:`candidates`) and records the result.
"""
import contextlib
import math
import os
import threading
import time
import warnings
from typing import NamedTuple

import numpy as np

from fastconv import _tuning
from fastconv._args import direct_out, explicitly_padded, kernel_padding, winograd_reason
from fastconv._kernels import _conv, _dwconv, _gemm, _pointwise
from fastconv._threads import get_num_threads

IM2COL_MIN_CHANNELS_PER_GROUP = 8
IM2COL_MIN_REDUCTION = 16
IM2COL_MIN_POINTWISE_CHANNELS = 32
#: Pixels (N times the spatial size) up to which a 1x1 layer runs as a
#: matrix times vectors (:func:`pointwise_kernel`).
POINTWISE_GEMV_MAX_PIXELS = 4
#: 1x1 layers whose batch im2col runs as one image (:func:`folds_batch`):
#: the time of copying an input or output element over that of a
#: multiply-add in the GEMM (NumPy's strided copies at about 4 GB/s against
#: the GEMM's 70 GFLOP/s, 1 thread).
FOLD_COPY_COST = 70
#: Bytes of input and output copies a folded run of images holds at most
#: (:func:`run_im2col_folded`): a large batch is folded a run at a time.
FOLD_RUN_BYTES = 32 << 20
WINOGRAD_MIN_CHANNELS_PER_GROUP = 16
WINOGRAD_MAX_DILATION = 4
WINOGRAD_MIN_TILES = 100
WINOGRAD_FEW_TILES = 40
WINOGRAD_WIDE_CHANNELS = 128
WINOGRAD_FEW_TILES_MAX_BYTES = 8 << 20
#: Grouped layers on the direct algorithm's grid kernel (:func:`grouped_grid`).
GRID_CHANNELS_PER_GROUP = 32
GRID_WIDE_CHANNELS_PER_GROUP = 64
GRID_WIDE_MAX_PIXELS = 196
GRID_MAX_STRIDE = 8
#: Dense 2-D layers on the grid kernel (:func:`dense_grid`).
GRID_DENSE_CHANNELS = 16
GRID_DENSE_MAX_OUT = 64
GRID_DENSE_MAX_STRIDED_TAPS = 25
#: Multiply-accumulates per thread below which a call uses fewer threads
#: (about 13 us of arithmetic at 5 GMAC/s, several times the start and
#: barrier of a parallel region on an idle machine; on a loaded one a
#: second thread that is not scheduled costs far more).
SMALL_WORK_MACS = 1 << 16


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


def _winograd_amortised(problem, cig, cog):
    """Enough tiles to pay for a plain call's weight and tile transforms."""
    tiles = winograd_tiles(problem)
    if tiles >= WINOGRAD_MIN_TILES:
        return True
    points = 4 ** sum(k == 3 for k in problem.kernel)
    weight_bytes = points * problem.c_out * cig * problem.dtype.itemsize
    return (tiles >= WINOGRAD_FEW_TILES and min(cig, cog) >= WINOGRAD_WIDE_CHANNELS
            and weight_bytes <= WINOGRAD_FEW_TILES_MAX_BYTES)


def choose_algorithm(problem, planned=False, layout="channels_first"):
    """The algorithm that ``algorithm="auto"`` runs for ``problem``.

    ``planned``: the weights are prepared once by a plan, so Winograd's
    weight transform costs nothing per call.
    """
    return choose(problem, planned, layout)[0]


def choose(problem, planned=False, layout="channels_first"):
    """``(algorithm, variant)`` that ``algorithm="auto"`` runs for ``problem``:
    a matching wisdom entry's, else the rule's (:func:`rule`) with the
    kernels' default blocking (an empty ``variant``)."""
    if problem.algorithm != "auto":
        return problem.algorithm, {}
    if _tuning.has_entries():
        entry = _tuning.lookup(problem_key(problem, planned, layout))
        if entry is not None and _usable(problem, entry):
            return entry["algorithm"], entry["variant"]
    return rule(problem, planned), {}


def rule(problem, planned=False):
    """The measured rule of ``auto`` (this module's docstring), without wisdom."""
    cog = problem.c_out // problem.groups
    cig = problem.c_in // problem.groups
    if grouped_grid(problem, cig) or dense_grid(problem, cig, cog):
        return "direct"
    if (winograd_reason(problem.kernel, problem.stride) is None
            and max(problem.dilation) <= WINOGRAD_MAX_DILATION
            and cig >= WINOGRAD_MIN_CHANNELS_PER_GROUP
            and cog >= WINOGRAD_MIN_CHANNELS_PER_GROUP
            and (planned or _winograd_amortised(problem, cig, cog))):
        return "winograd"
    if pointwise_kernel(problem):
        return "im2col"
    reduction = cig * math.prod(problem.kernel)
    if cog >= IM2COL_MIN_CHANNELS_PER_GROUP and reduction >= IM2COL_MIN_REDUCTION:
        return "im2col"
    if math.prod(problem.kernel) == 1 and cig >= IM2COL_MIN_POINTWISE_CHANNELS:
        return "im2col"
    return "direct"


def grouped_grid(problem, cig):
    """Whether ``auto`` runs a grouped layer on the direct algorithm's grid
    kernel: 1-D and 2-D, more than one tap (1x1 layers stay on the GEMM),
    strides up to ``GRID_MAX_STRIDE``, several groups of
    2 to ``GRID_CHANNELS_PER_GROUP`` input channels, or up to
    ``GRID_WIDE_CHANNELS_PER_GROUP`` on maps of at most ``GRID_WIDE_MAX_PIXELS``
    output pixels (beyond, Winograd and im2col win)."""
    if problem.groups < 2 or cig < 2 or not _grid_applies(problem):
        return False
    return cig <= GRID_CHANNELS_PER_GROUP or (
        cig <= GRID_WIDE_CHANNELS_PER_GROUP
        and math.prod(problem.out_spatial) <= GRID_WIDE_MAX_PIXELS)


def dense_grid(problem, cig, cog):
    """Whether ``auto`` runs a dense (one group) 2-D layer on the grid kernel:
    2 to ``GRID_DENSE_CHANNELS`` input channels, at most
    ``GRID_DENSE_MAX_OUT`` output channels, more than one tap, strides up to
    ``GRID_MAX_STRIDE``, and a strided layer of at most
    ``GRID_DENSE_MAX_STRIDED_TAPS`` taps (RGB stems of 3x3 and 5x5 taps,
    the first layers of small networks). With more output channels the
    GEMM's reuse of each input value wins; 7x7 stride-2 stems measured
    0.9-1.3x im2col's time on the grid kernel; 1-D layers of 7 and 9 taps
    lost to im2col by 1.0-1.8x."""
    return (problem.groups == 1 and problem.nd == 2 and 2 <= cig <= GRID_DENSE_CHANNELS
            and cog <= GRID_DENSE_MAX_OUT and _grid_applies(problem)
            and (max(problem.stride) == 1
                 or math.prod(problem.kernel) <= GRID_DENSE_MAX_STRIDED_TAPS))


def _grid_applies(problem):
    """The shapes both grid rules need: 1-D or 2-D, more than one tap,
    strides up to ``GRID_MAX_STRIDE``."""
    return (problem.nd <= 2 and math.prod(problem.kernel) > 1
            and max(problem.stride) <= GRID_MAX_STRIDE)


def depthwise_kernel(problem):
    """Whether the direct algorithm runs ``problem`` on a depthwise kernel of
    fixed size and stride (``_dwconv``: 2-D, one input channel per group,
    square 3x3, 5x5 or 7x7 taps, stride 1 or 2 in both dims, no dilation);
    else on the general direct kernel."""
    return (problem.nd == 2 and problem.c_in == problem.groups
            and problem.kernel[0] == problem.kernel[1] and problem.stride[0] == problem.stride[1]
            and problem.dilation == (1, 1)
            and _dwconv.supported(problem.kernel[0], problem.stride[0]))


def pointwise_kernel(problem):
    """Whether the im2col algorithm runs ``problem`` as a matrix times a few
    vectors (``_pointwise``): 1x1 taps, stride 1, no padding, at most
    ``POINTWISE_GEMV_MAX_PIXELS`` output pixels over the whole batch."""
    return (all(k == 1 for k in problem.kernel) and all(s == 1 for s in problem.stride)
            and not any(problem.pad_before) and not any(problem.pad_after)
            and problem.n * math.prod(problem.out_spatial) <= POINTWISE_GEMV_MAX_PIXELS)


def folds_batch(problem):
    """Whether im2col runs a batch of a 1x1 layer (no padding, any stride) as
    one image whose columns are the batch's pixels, image after image
    (:func:`run_im2col_folded`). An image of few pixels leaves the GEMM's last
    column panel part empty (7 x 7 maps: 49 pixels in four 16-column panels,
    the last holding one); the batch's pixels fill whole panels but for the
    last. The fold costs a copy of the input and of the output, so it runs
    when the empty share of the image-by-image panels is at least
    ``FOLD_COPY_COST * (C_in + C_out) / (C_in * C_out / groups)``, the copies'
    time relative to the arithmetic. Measured (1 thread, batch 8, float32,
    against the image-by-image GEMM): 1024 -> 2048 channels, 14 x 14, stride
    2: 0.85x; 512 -> 2048 and 2048 -> 512 at 7 x 7: 0.91x and 0.98x; 160 ->
    960 at 7 x 7: 0.99x; but 1.12-1.15x on 14 x 14 and 28 x 28 maps with 1024
    -> 256 and 512 -> 1024 channels, whose panels are 94% full, and 1.3-1.7x
    with 64 to 256 channels. Each output element's sum is the same either
    way (the GEMM's order does not depend on the columns it is given), so the
    bits are those of the image-by-image GEMM."""
    if (problem.n < 2 or any(k != 1 for k in problem.kernel)
            or any(problem.pad_before) or any(problem.pad_after)):
        return False
    pixels = math.prod(problem.out_spatial)
    if pixels == 0:
        return False
    nr = _gemm.register_tile(problem.dtype)[1]
    slots = -(-pixels // nr) * nr * problem.n
    empty = (slots - problem.n * pixels) / slots
    macs_per_pixel = problem.c_in * problem.c_out / problem.groups
    return empty * macs_per_pixel >= FOLD_COPY_COST * (problem.c_in + problem.c_out)


def run_im2col_folded(x5, w5, bias, o5, stride, groups, threads, isa, packed, variant):
    """im2col of a 1x1 layer over ``(N, C, *spatial)`` as one GEMM per group
    over the pixels of a run of images (:func:`folds_batch`): the strided
    input is gathered channel-major, ``(C, images, *out_spatial)``, and the
    result scattered back to ``(images, C_out, *out_spatial)``. The runs of
    images keep the two copies under ``FOLD_RUN_BYTES`` whatever the batch."""
    n, c = x5.shape[:2]
    c_out = o5.shape[1]
    out_spatial = o5.shape[2:]
    per_image = math.prod(out_spatial)
    run = max(1, min(n, FOLD_RUN_BYTES // max(1, (c + c_out) * per_image * x5.itemsize)))
    steps = tuple(slice(None, None, s) for s in stride)
    for i0 in range(0, n, run):
        i1 = min(n, i0 + run)
        pixels = (i1 - i0) * per_image
        cols = np.empty((c, i1 - i0) + out_spatial, x5.dtype)
        np.copyto(cols, x5[(slice(i0, i1), slice(None)) + steps].transpose(1, 0, 2, 3, 4))
        res = np.empty((c_out, i1 - i0) + out_spatial, o5.dtype)
        _conv.im2col(cols.reshape(1, c, 1, 1, pixels), w5, bias,
                     res.reshape(1, c_out, 1, 1, pixels), (1, 1, 1), (0, 0, 0), (1, 1, 1),
                     groups, threads, isa, packed, variant.get("block_bytes", 0),
                     variant.get("pass_rows", 0))
        np.copyto(o5[i0:i1], res.transpose(1, 0, 2, 3, 4))


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


def run_winograd(x5, packed, bias, o5, padding, taps, dilation, groups, threads, isa,
                 block_bytes=0):
    """Winograd F(2, 3) into ``o5``; a dilated kernel is applied to the
    ``prod(dilation)`` interleaved sub-grids of the input, each convolved with
    the undilated kernel (the space-to-batch identity), never by inflating it."""
    if all(d == 1 for d in dilation):
        _conv.winograd(x5, packed, bias, o5, tuple(padding), tuple(taps), groups, threads, isa,
                       block_bytes)
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
        _conv.winograd(sub_x, packed, bias, sub_o, pads, tuple(taps), groups, threads, isa,
                       block_bytes)
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


class CallShapes(NamedTuple):
    """What a call of a problem needs that depends on the problem alone: the
    kernels' 3-D forms of the shapes and parameters (``lead``: the unit
    spatial dims put before a 1-D or 2-D input's), and the rule's choice."""

    lead: tuple
    #: The shape of the result (unbatched when the input was).
    out: tuple
    #: The 5-D shape of the input the kernels receive (padded explicitly
    #: for a non-zero ``padding_mode``, see :func:`fastconv._args.pad_input`).
    x5: tuple
    w5: tuple
    o5: tuple
    padding: tuple
    stride: tuple
    dilation: tuple
    kernel: tuple
    rule: str
    #: The most threads worth starting: one per SMALL_WORK_MACS of work.
    max_threads: int
    #: The direct algorithm runs on a depthwise kernel (:func:`depthwise_kernel`).
    depthwise: bool
    #: auto's im2col runs as a matrix times vectors (:func:`pointwise_kernel`).
    pointwise: bool
    #: im2col runs the batch as one image (:func:`folds_batch`).
    fold: bool


#: The :class:`CallShapes` of recent problems, by ``id(problem)``, with the
#: problem itself (kept alive, so its id is not reused while it is here):
#: a repeated call of a cached problem (:data:`fastconv._args._problems`)
#: finds them without hashing the problem (bounded; cleared when full).
CALL_SHAPES_CACHE_SIZE = 256
_shapes = {}


def _call_shapes(problem):
    hit = _shapes.get(id(problem))
    if hit is not None and hit[0] is problem:
        return hit[1]
    in_spatial = problem.in_spatial
    if explicitly_padded(problem):
        in_spatial = tuple(s + b + a for s, b, a in
                           zip(in_spatial, problem.pad_before, problem.pad_after))
    shapes = CallShapes(
        (1,) * (3 - problem.nd), problem.out_shape,
        (problem.n, problem.c_in) + as_3d(in_spatial, 1),
        (problem.c_out, problem.c_in // problem.groups) + as_3d(problem.kernel, 1),
        (problem.n, problem.c_out) + as_3d(problem.out_spatial, 1),
        as_3d(kernel_padding(problem), 0), as_3d(problem.stride, 1),
        as_3d(problem.dilation, 1), as_3d(problem.kernel, 1), rule(problem),
        max(1, problem.macs // SMALL_WORK_MACS), depthwise_kernel(problem),
        pointwise_kernel(problem), folds_batch(problem))
    if len(_shapes) >= CALL_SHAPES_CACHE_SIZE:
        _shapes.clear()
    _shapes[id(problem)] = (problem, shapes)
    return shapes


def run_conv(problem, x, weight, bias, out, *, algorithm=None, isa=None, packed=None,
             variant=None, layout="channels_first", few_pixels=True):
    """Compute ``problem`` into ``out`` (or a new array); return the result.

    ``x``, ``weight``, ``bias`` come from :func:`fastconv._args.prepare_conv`.
    A plan passes the ``algorithm`` and kernel ``variant`` it chose, the SIMD
    level ``isa`` it packed for and the ``packed`` weights of
    :func:`prepare_weights`; a plain call chooses (:func:`choose`, which
    reads wisdom for the caller's ``layout``) and prepares here, or, inside
    :func:`tuning`, measures its candidates first. ``few_pixels=False``
    keeps auto's im2col on the GEMM for 1x1 layers of few pixels (the
    transposed decomposition's phases, whose pixel counts depend on the
    chunk a Dask block holds while their sums must not).
    """
    shapes = _call_shapes(problem)
    result = out
    if result is None or not direct_out(result):
        result = np.empty(shapes.out, dtype=problem.dtype)
    if result.size:
        x5 = x.reshape(shapes.x5)
        w5 = weight.reshape(shapes.w5)
        o5 = result.reshape(shapes.o5)
        # Work too small to share runs on one thread: the kernels' results do
        # not depend on the thread count, and a parallel region's start and
        # barrier cost more than such a call's arithmetic.
        threads = 1 if shapes.max_threads == 1 else min(get_num_threads(), shapes.max_threads)
        if isa is None:
            isa = isa_level()
        if algorithm is None:
            if (_tune_budget() is not None and problem.algorithm == "auto"
                    and not has_wisdom(problem, False, layout)):
                tune(problem, x, weight, bias, _tune_budget(), layout=layout)
            if problem.algorithm == "auto" and not _tuning.has_entries():
                algorithm, variant = shapes.rule, None     # choose() without wisdom
            else:
                algorithm, variant = choose(problem, layout=layout)
        variant = variant or {}
        # auto's 1x1 layers over few pixels: im2col as a matrix times vectors.
        gemv = (algorithm == "im2col" and problem.algorithm == "auto" and not variant
                and few_pixels and shapes.pointwise)
        note_choice("im2col/gemv" if gemv else algorithm)
        if packed is None and algorithm == "winograd":
            # (im2col without a plan reads the weights in place: packing
            # them would cost a pass over all of them on every call.)
            packed = prepare_weights(problem, weight, algorithm, isa)
        if algorithm == "winograd":
            run_winograd(x5, packed, bias, o5, shapes.padding, shapes.kernel, shapes.dilation,
                         problem.groups, threads, isa, variant.get("block_bytes", 0))
        elif gemv:
            # Only auto's own choice: an explicit or pinned im2col (a chunk of a
            # larger array, a tuned variant) keeps the GEMM's order of summation,
            # so a region of few pixels gives the bits of the same region of the whole.
            _pointwise.pointwise(x5.reshape(x5.shape[:2] + (-1,)), weight.reshape(shapes.w5[:2]),
                                 bias, o5.reshape(shapes.o5[:2] + (-1,)), problem.groups,
                                 threads, isa)
        elif algorithm == "im2col" and shapes.fold:
            run_im2col_folded(x5, w5, bias, o5, shapes.stride, problem.groups, threads, isa,
                              packed, variant)
        elif algorithm == "im2col":
            _conv.im2col(x5, w5, bias, o5, shapes.stride, shapes.padding, shapes.dilation,
                         problem.groups, threads, isa, packed,
                         variant.get("block_bytes", 0), variant.get("pass_rows", 0))
        elif shapes.depthwise:
            _dwconv.depthwise(x5[:, :, 0], w5[:, :, 0], bias, o5[:, :, 0], problem.stride[0],
                              tuple(shapes.padding[1:]), threads, isa)
        else:
            _conv.direct(x5, w5, bias, o5, shapes.stride, shapes.padding, shapes.dilation,
                         problem.groups, threads, isa)
    if out is not None and result is not out:
        out[...] = result
        return out
    return result


# --------------------------------------------------------------------------
# Measuring: the candidates of a problem, timed by fastconv._tuning
# --------------------------------------------------------------------------

#: The algorithms a convolution problem can run.
CONV_ALGORITHMS = ("direct", "im2col", "winograd")
#: The kernel parameters each algorithm accepts in a wisdom entry's variant.
VARIANT_PARAMS = {"direct": (), "im2col": ("block_bytes", "pass_rows"),
                  "winograd": ("block_bytes",)}
#: Block sizes tried by :func:`tune`: bytes of unfolded input (im2col) or of
#: transformed tiles (Winograd) per work item, around the default 256 KiB,
#: and im2col's rows of K per pass, around the default 256.
TUNE_BLOCK_BYTES = (64 * 1024, 128 * 1024, 512 * 1024, 1024 * 1024)
TUNE_PASS_ROWS = (128, 512, 1024)
#: Default ``tune_budget`` (seconds) of a measurement.
TUNE_BUDGET = 1.0
#: Share of the budget spent on the algorithms with their default blocking;
#: the rest times the block sizes of the algorithms within TUNE_CONTENDERS
#: times the fastest.
TUNE_FIRST_SHARE = 0.4
TUNE_CONTENDERS = 1.25


def problem_key(problem, planned, layout):
    """The wisdom key of a problem (:data:`fastconv._tuning.PROBLEM_FIELDS`)."""
    return ("plan" if planned else "call", f"conv{problem.nd}d",
            (problem.n, problem.c_in) + problem.in_spatial,
            (problem.c_out, problem.c_in // problem.groups) + problem.kernel,
            problem.stride, problem.pad_before, problem.pad_after, problem.dilation,
            problem.groups, problem.padding_mode, problem.dtype.name, layout)


def has_wisdom(problem, planned=False, layout="channels_first"):
    """A usable wisdom entry matches the problem (at this thread count and SIMD level)."""
    entry = _tuning.lookup(problem_key(problem, planned, layout))
    return entry is not None and _usable(problem, entry)


def _usable(problem, entry):
    """A wisdom entry names an algorithm and variant this problem can run."""
    algorithm = entry["algorithm"]
    if algorithm not in CONV_ALGORITHMS:
        return False
    if algorithm == "winograd" and winograd_reason(problem.kernel, problem.stride) is not None:
        return False
    return all(k in VARIANT_PARAMS[algorithm] for k in entry["variant"])


def _label(algorithm, variant):
    if not variant:
        return algorithm
    return algorithm + "(" + ", ".join(f"{k}={v}" for k, v in sorted(variant.items())) + ")"


def candidates(problem, planned=False):
    """Every ``(algorithm, variant)`` the problem can run, the rule's choice
    first, then the other algorithms with their default blocking, then the
    other block sizes (only those that change the blocking: a setting the
    kernel clamps to the default is the default)."""
    algorithms = [a for a in CONV_ALGORITHMS
                  if a != "winograd" or winograd_reason(problem.kernel, problem.stride) is None]
    first = rule(problem, planned)
    algorithms.sort(key=lambda a: a != first)
    result = [(a, {}) for a in algorithms]
    threads, isa = get_num_threads(), isa_level()
    itemsize = problem.dtype.itemsize
    x5 = (problem.n, problem.c_in) + as_3d(problem.in_spatial, 1)
    w5 = (problem.c_out, problem.c_in // problem.groups) + as_3d(problem.kernel, 1)
    o5 = (problem.n, problem.c_out) + as_3d(problem.out_spatial, 1)
    if "im2col" in algorithms:
        def blocking(bb, rows):
            return _conv.im2col_blocking(x5, w5, o5, as_3d(problem.stride, 1),
                                         as_3d(kernel_padding(problem), 0), problem.groups,
                                         threads, isa, itemsize, bb, rows)
        seen = {blocking(0, 0)}
        for rows in (0,) + TUNE_PASS_ROWS:
            for bb in (0,) + TUNE_BLOCK_BYTES:
                b = blocking(bb, rows)
                if b not in seen:
                    seen.add(b)
                    result.append(("im2col", {k: v for k, v in (("block_bytes", bb),
                                                                ("pass_rows", rows)) if v}))
    if "winograd" in algorithms:
        P = 4 ** sum(k == 3 for k in problem.kernel)
        nr = _gemm.register_tile(problem.dtype)[1]
        tiles = winograd_tiles(problem)
        cg = problem.c_in // problem.groups

        def blocks(bb):
            return _conv.winograd_blocks(P, cg, tiles, nr, itemsize, problem.groups, threads,
                                         bb)
        seen = {blocks(0)}
        for bb in TUNE_BLOCK_BYTES:
            b = blocks(bb)
            if b not in seen:
                seen.add(b)
                result.append(("winograd", {"block_bytes": bb}))
    return result


def tune(problem, x, weight, bias, budget=TUNE_BUDGET, *, layout="channels_first",
         planned=False):
    """Measure every candidate of ``problem`` (:func:`candidates`) on these
    arrays within about ``budget`` seconds and record the fastest in wisdom.

    A plan's measurement (``planned``) times the kernels with weights
    prepared beforehand and records two entries: ``use="plan"`` (the fastest
    kernel) and ``use="call"`` (the fastest kernel plus its weight
    preparation, which a plain call pays every time). A plain call's
    measurement times the whole call and records ``use="call"``.

    Returns
    -------
    (algorithm, variant)
        The choice for the kind of call measured.
    """
    isa = isa_level()
    cands = candidates(problem, planned)
    out = np.empty((problem.n, problem.c_out) + problem.out_spatial, problem.dtype)
    prep_times, packs = {}, {}
    for algorithm in dict.fromkeys(a for a, _ in cands):
        # The fastest of three preparations (the first may pay one-time costs).
        prep_times[algorithm] = math.inf
        for _ in range(3):
            start = time.perf_counter()
            packs[algorithm] = prepare_weights(problem, weight, algorithm, isa)
            prep_times[algorithm] = min(prep_times[algorithm], time.perf_counter() - start)

    def runner(algorithm, variant):
        if planned:
            packed = packs[algorithm]
            return lambda: run_conv(problem, x, weight, bias, out, algorithm=algorithm,
                                    isa=isa, packed=packed, variant=variant)
        return lambda: run_conv(problem, x, weight, bias, out, algorithm=algorithm, isa=isa,
                                variant=variant)
    labelled = [(_label(a, v), runner(a, v)) for a, v in cands]
    # First the algorithms with their default blocking, then the other block
    # sizes of those within TUNE_CONTENDERS of the fastest, beside their
    # defaults: the budget goes to repeats where the choice is close.
    start = time.perf_counter()
    defaults = [c for c, (_, v) in zip(labelled, cands) if not v]
    times = _tuning.measure(defaults, budget * TUNE_FIRST_SHARE)
    fastest = min(times.values())
    contenders = {a for (label, _), (a, v) in zip(labelled, cands)
                  if not v and times[label] <= TUNE_CONTENDERS * fastest}
    rest = budget - (time.perf_counter() - start)
    second = [c for c, (a, _) in zip(labelled, cands) if a in contenders]
    if rest > 0 and len(second) > 1:
        for label, t in _tuning.measure(second, rest).items():
            times[label] = min(times.get(label, math.inf), t)
    for label, _ in labelled:
        times.setdefault(label, math.inf)
    choice = {}
    uses = (("plan", 0.0), ("call", 1.0)) if planned else (("call", 0.0),)
    for use, prep_weight in uses:
        total = {label: t + prep_weight * prep_times[a]
                 for (label, _), (a, _) in zip(labelled, cands)
                 for t in [times[label]]}
        best = min(range(len(cands)), key=lambda i: total[labelled[i][0]])
        algorithm, variant = cands[best]
        _tuning.record(problem_key(problem, use == "plan", layout), algorithm, variant,
                       total[labelled[best][0]],
                       {k: v for k, v in total.items() if math.isfinite(v)})
        choice[use] = (algorithm, variant)
    return choice["plan" if planned else "call"]


class _TuningState(threading.local):
    #: The budget of :func:`tuning` in this thread (None outside it; a class
    #: attribute, so a thread that never tuned reads it without a miss).
    budget = None


_local = _TuningState()


def _tune_budget():
    return _local.budget


@contextlib.contextmanager
def tuning(budget=TUNE_BUDGET):
    """Within the block, every ``algorithm="auto"`` convolution of this thread
    without wisdom measures its candidates (``budget`` seconds each) and
    records the result before it runs (the engine of ``python -m fastconv tune``
    for the operations built on convolutions)."""
    previous = _tune_budget()
    _local.budget = float(budget)
    try:
        yield
    finally:
        _local.budget = previous


_recorder = None


def note_choice(algorithm):
    """Tell :func:`recording` which algorithm is about to run."""
    if _recorder is not None:
        _recorder.append(algorithm)


@contextlib.contextmanager
def recording():
    """Collect the algorithm of every convolution run inside the block (the
    bench's "auto chose" column). Not for concurrent use."""
    global _recorder
    previous, _recorder = _recorder, []
    try:
        yield _recorder
    finally:
        _recorder = previous
