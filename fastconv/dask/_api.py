"""The public functions of :mod:`fastconv.dask`: validate, choose once, build the graph.

Each function validates its arguments with the in-memory function's own
rules (on a stand-in of the input's shape and dtype, so the errors are the
same), chooses the algorithm once from the whole problem
(:func:`fastconv._dispatch.choose_algorithm`, ``correlate``'s cost model),
plans every axis (:mod:`fastconv.dask._geometry`) and builds the graph
(:mod:`fastconv.dask._graph`), whose tasks call the in-memory function on
each block (:mod:`fastconv.dask._blocks`).
"""
import itertools
import warnings
from functools import partial

import numpy as np
import dask.array as da

import fastconv
from fastconv import _blockwise as core
from fastconv._args import (check_layout, check_winograd, from_channels_first, prepare_conv,
                            stand_in, to_channels_first)
from fastconv._dispatch import choose_algorithm, pointwise_kernel
from fastconv._blockwise import (check_depthwise_weight, check_num_threads, check_separable,
                                 choose_transposed_algorithm, conv_weight_of, input_channels,
                                 phase_plan, prepare_transposed)
from fastconv.dask import _geometry as geo
from fastconv.dask._blocks import (ConvBlock, CorrelateBlock, SeparableBlock,
                                   TransposedBlock)
from fastconv.dask._graph import build
from fastconv.dask._workers import threads_for_task

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "depthwise_conv2d", "separable_conv2d", "correlate", "convolve"]


class SingleBlockWarning(UserWarning):
    """A call that ``fastconv.dask`` can only compute bitwise like the
    in-memory function as one block (its result is one chunk)."""


def _as_dask(x, name):
    if isinstance(x, da.Array):
        return x
    if not hasattr(x, "shape"):
        x = np.asarray(x)
    return da.asarray(x)


def _real_only(**arrays):
    """``fastconv.dask`` computes real arrays: a complex one (or a complex
    ``fillvalue``) raises instead of being cast to a real result."""
    for name, a in arrays.items():
        if a is None:
            continue
        dtype = a.dtype if hasattr(a, "dtype") else np.asarray(a).dtype
        if dtype.kind == "c":
            raise TypeError(f"fastconv.dask computes real arrays only: {name} has dtype "
                            f"{dtype}; compose the real and imaginary parts from real calls, "
                            f"or use the in-memory function")


def _roles(nd, ndim, layout):
    """(batch axis or None, channel axis, spatial axes) of an input of ``ndim`` dims."""
    batched = ndim == nd + 2
    lead = 1 if batched else 0
    if layout == "channels_first":
        return (0 if batched else None), lead, tuple(range(lead + 1, lead + 1 + nd))
    return (0 if batched else None), lead + nd, tuple(range(lead, lead + nd))


def _split(values, bounds, axis=0):
    """``values`` cut along ``axis`` at ``bounds`` (one C-contiguous piece per chunk)."""
    if values is None:
        return [None] * (len(bounds) - 1)
    index = [slice(None)] * values.ndim
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        index[axis] = slice(a, b)
        out.append(np.ascontiguousarray(values[tuple(index)]))
    return out


def _channel_bounds(c_out, channel_chunks, cog):
    """Boundaries of the output channels' chunks: an int ``c`` is ``c``
    channels at a time within each group (``c < cog``) or whole groups, as
    many as fit in ``c``; a tuple is taken as given (checked by the plan)."""
    if channel_chunks is None:
        return None
    if isinstance(channel_chunks, (int, np.integer)) and not isinstance(channel_chunks, bool):
        if channel_chunks < 1:
            raise ValueError(f"channel_chunks must be >= 1, got {channel_chunks}")
        if channel_chunks >= cog:
            step = channel_chunks // cog * cog
            return tuple(range(0, c_out, step)) + (c_out,)
        return tuple(sorted({c_out} | {g + i for g in range(0, c_out, cog)
                                       for i in range(0, cog, int(channel_chunks))}))
    return geo.fixed_bounds(c_out, channel_chunks, "channel_chunks")


def _single_block(x, fn, out_shape, dtype, name, num_threads):
    """The whole computation as one task (``fn`` on the whole input)."""
    warnings.warn(f"fastconv.dask.{name}: this call is computed as one block, on the whole "
                  f"input, to give the in-memory result's bits (see the Scaling out with Dask "
                  f"page of the docs)", SingleBlockWarning, stacklevel=3)
    return x.rechunk(x.shape).map_blocks(
        partial(_call_with_threads, fn, num_threads), dtype=dtype,
        chunks=tuple((s,) for s in out_shape), meta=np.empty((0,) * len(out_shape), dtype),
        name=f"fastconv-{name}-one-block")


def _call_with_threads(fn, num_threads, block):
    with threads_for_task(num_threads):
        return fn(block)


# --------------------------------------------------------------------------
# conv1d / conv2d / conv3d, depthwise_conv2d
# --------------------------------------------------------------------------
def _conv(nd, x, weight, bias, stride, padding, dilation, groups, padding_mode, algorithm,
          layout, channel_chunks, num_threads, name):
    check_num_threads(num_threads)
    x = _as_dask(x, "input")
    _real_only(input=x, weight=weight, bias=bias)
    check_layout(layout)
    probe = to_channels_first(stand_in(x.shape, x.dtype), layout, nd)
    problem, _, w, b, _ = prepare_conv(nd, probe, weight, bias, stride, padding, dilation,
                                       groups, padding_mode, algorithm, None,
                                       convert_input=False)
    pinned = choose_algorithm(problem)
    if problem.algorithm == "auto" and pinned == "im2col" and pointwise_kernel(problem):
        # A 1x1 layer of few pixels: auto's matrix-times-vectors form, which
        # every block (fewer pixels still) takes too; an explicit im2col would not.
        pinned = "auto"
    batch, channel, spatial = _roles(nd, x.ndim, layout)
    cig, cog = problem.c_in // problem.groups, problem.c_out // problem.groups
    plans = [None] * x.ndim
    if batch is not None:
        plans[batch] = geo.AxisPlan.identity(x.chunks[batch])
    plans[channel] = geo.channel_axis(x.chunks[channel], problem.c_out, cig, cog,
                                      _channel_bounds(problem.c_out, channel_chunks, cog))
    boundary = geo.PADDING_MODE_BOUNDARY[padding_mode]
    for i, axis in enumerate(spatial):
        k, d = problem.kernel[i], problem.dilation[i]
        plans[axis] = geo.conv_axis(x.chunks[axis], k, problem.stride[i], d,
                                    problem.pad_before[i], problem.out_spatial[i], boundary,
                                    align=geo.tile_align(k, d, pinned == "winograd"))
    bounds = geo.offsets(plans[channel].chunks)
    op = ConvBlock(nd=nd, stride=problem.stride, dilation=problem.dilation, algorithm=pinned,
                   layout=layout, channel_axis=channel, num_threads=num_threads)
    return build(x, plans, op, problem.dtype, name, (w, b), _split(w, bounds),
                 _split(b, bounds), channel_axis=channel)


_COMMON = """
    Returns
    -------
    dask.array.Array
        Lazy: its shape, chunks and dtype are known before anything is
        computed. Computed, it is bitwise identical to
        ``fastconv.{name}`` on the whole array, whatever the chunks.

    See Also
    --------
    fastconv.{name} : the in-memory function (the same arguments, and the
        same bits).

    Notes
    -----
    Every output block reads its input block and a halo from the
    neighbouring chunks (only the halo travels between workers), with the
    padding or boundary values placed in the block itself; the algorithm is
    chosen once for the whole problem and every block runs it. The input
    may be chunked along every axis. Each task runs fastconv's kernels on
    ``num_threads`` threads; by default ``max(1, cores // threads)``, the
    threads of all the Dask workers on the host of the one running it. See
    the "Scaling out with Dask" page of the docs.
"""

_THREADS = """    num_threads : int, optional
        Threads of fastconv's kernels inside each task (the rules of
        :func:`fastconv.set_num_threads`); by default the worker's cores
        divided among the task threads of the workers on its host."""

_TAIL = """    channel_chunks : int or tuple of int, optional
        Chunks of the output channels, each within one group or whole
        groups: an int ``c`` cuts each group into chunks of ``c`` (fewer
        than a group's output channels) or takes as many whole groups as
        fit in ``c``. By default one chunk, or with groups the input's
        channel chunks rounded to whole groups.
{threads}
""" + _COMMON + """
    Examples
    --------
{example}
"""

_CONV_DOC = """Lazy, chunked ``fastconv.conv{nd}d`` of a Dask array.

    Parameters
    ----------
    x : dask.array.Array
        Input ``(N, C_in, {spatial})`` or unbatched, as for
        ``fastconv.conv{nd}d`` (any array is wrapped with ``dask.array.asarray``),
        chunked along any axes.
    weight, bias : array_like
        NumPy arrays, as for ``fastconv.conv{nd}d``; they are put into the
        graph once (one piece per chunk of output channels).
    stride, padding, dilation, groups, padding_mode, algorithm, layout
        As for ``fastconv.conv{nd}d``.
""" + _TAIL

_CONV_EXAMPLES = {
    1: """    >>> import numpy as np, dask.array as da, fastconv, fastconv.dask
    >>> x = np.random.default_rng(0).standard_normal((2, 3, 100)).astype(np.float32)
    >>> w = np.ones((4, 3, 5), np.float32)
    >>> y = fastconv.dask.conv1d(da.from_array(x, chunks=(1, 3, 30)), w, padding=2)
    >>> y.shape, y.chunks[2]
    ((2, 4, 100), (30, 30, 30, 10))
    >>> bool(np.array_equal(y.compute(), fastconv.conv1d(x, w, padding=2)))
    True""",
    2: """    >>> import numpy as np, dask.array as da, fastconv, fastconv.dask
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((4, 8, 64, 64)).astype(np.float32)
    >>> w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    >>> xd = da.from_array(x, chunks=(2, 4, 25, 30))     # batch, channels, rows, columns
    >>> y = fastconv.dask.conv2d(xd, w, stride=2, padding="same")
    >>> y.shape, y.chunks
    ((4, 16, 32, 32), ((2, 2), (16,), (12, 13, 7), (15, 15, 2)))
    >>> bool(np.array_equal(y.compute(), fastconv.conv2d(x, w, stride=2, padding="same")))
    True""",
    3: """    >>> import numpy as np, dask.array as da, fastconv, fastconv.dask
    >>> x = np.random.default_rng(0).standard_normal((1, 2, 20, 21, 22))
    >>> w = np.ones((4, 1, 3, 3, 3))
    >>> xd = da.from_array(x, chunks=(1, 1, 8, 8, 8))
    >>> y = fastconv.dask.conv3d(xd, w, groups=2, padding=1, padding_mode="replicate")
    >>> y.chunks[1]                     # the input's channel chunks, as groups
    (2, 2)
    >>> ref = fastconv.conv3d(x, w, groups=2, padding=1, padding_mode="replicate")
    >>> bool(np.array_equal(y.compute(), ref))
    True""",
}


def _make_conv(nd):
    names = {1: "L", 2: "H, W", 3: "D, H, W"}

    def conv(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
             padding_mode="zeros", algorithm="auto", layout="channels_first",
             channel_chunks=None, num_threads=None):
        return _conv(nd, x, weight, bias, stride, padding, dilation, groups, padding_mode,
                     algorithm, layout, channel_chunks, num_threads, f"fastconv-conv{nd}d")

    conv.__name__ = conv.__qualname__ = f"conv{nd}d"
    conv.__module__ = "fastconv.dask"
    conv.__doc__ = _CONV_DOC.format(nd=nd, spatial=names[nd], threads=_THREADS,
                                    name=f"conv{nd}d", example=_CONV_EXAMPLES[nd])
    return conv


conv1d = _make_conv(1)
conv2d = _make_conv(2)
conv3d = _make_conv(3)


def depthwise_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, *,
                     padding_mode="zeros", algorithm="auto", channel_chunks=None,
                     num_threads=None):
    check_num_threads(num_threads)
    x = _as_dask(x, "input")
    c_in = input_channels(stand_in(x.shape, x.dtype))
    check_depthwise_weight(np.asarray(weight), c_in, "weight")
    return _conv(2, x, weight, bias, stride, padding, dilation, c_in, padding_mode, algorithm,
                 "channels_first", channel_chunks, num_threads, "fastconv-depthwise_conv2d")


depthwise_conv2d.__doc__ = """Lazy, chunked ``fastconv.depthwise_conv2d`` of a Dask array.

    Parameters
    ----------
    x : dask.array.Array
        Input ``(N, C, H, W)`` or ``(C, H, W)``, chunked along any axes; the
        output channels ``c * m .. c * m + m - 1`` of input channel ``c`` are
        chunked as the input channels.
    weight, bias : array_like
        ``(C * m, 1, kh, kw)`` and ``(C * m,)``, NumPy arrays.
    stride, padding, dilation, padding_mode, algorithm
        As for ``fastconv.depthwise_conv2d``.
    channel_chunks : int or tuple of int, optional
        Chunks of the output channels (each within one input channel's ``m``
        outputs, or whole multiples of ``m``).
{threads}
""".format(threads=_THREADS) + _COMMON.format(name="depthwise_conv2d") + """
    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv, fastconv.dask
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((2, 6, 40, 40)).astype(np.float32)
    >>> w = rng.standard_normal((12, 1, 5, 5)).astype(np.float32)     # m = 2
    >>> y = fastconv.dask.depthwise_conv2d(da.from_array(x, chunks=(1, 2, 16, 16)), w, padding=2)
    >>> y.chunks[1:]
    ((4, 4, 4), (16, 16, 8), (16, 16, 8))
    >>> bool(np.array_equal(y.compute(), fastconv.depthwise_conv2d(x, w, padding=2)))
    True
"""


def separable_conv2d(x, depthwise_weight, pointwise_weight, bias=None, stride=1, padding=0,
                     dilation=1, *, padding_mode="zeros", algorithm="auto", channel_chunks=None,
                     num_threads=None):
    check_num_threads(num_threads)
    x = _as_dask(x, "input")
    _real_only(input=x, depthwise_weight=depthwise_weight, pointwise_weight=pointwise_weight,
               bias=bias)
    probe = stand_in(x.shape, x.dtype)
    pwa = np.asarray(pointwise_weight)
    ba = None if bias is None else np.asarray(bias)
    problem, _, dw, dtype = check_separable(probe, depthwise_weight, pwa, ba, stride, padding,
                                            dilation, padding_mode, algorithm,
                                            convert_input=False)
    c_out = int(pwa.shape[0])
    dw = np.ascontiguousarray(dw, dtype=dtype)
    pw = np.ascontiguousarray(pwa, dtype=dtype)
    b = None if ba is None else np.ascontiguousarray(ba, dtype=dtype)
    batch, channel, spatial = _roles(2, x.ndim, "channels_first")
    bounds = _channel_bounds(c_out, channel_chunks, c_out) or (0, c_out)
    plans = [None] * x.ndim
    if batch is not None:
        plans[batch] = geo.AxisPlan.identity(x.chunks[batch])
    plans[channel] = geo.gathered_axis(x.chunks[channel], geo.chunks_from_bounds(bounds))
    boundary = geo.PADDING_MODE_BOUNDARY[padding_mode]
    for i, axis in enumerate(spatial):
        k, d = problem.kernel[i], problem.dilation[i]
        plans[axis] = geo.conv_axis(x.chunks[axis], k, problem.stride[i], d,
                                    problem.pad_before[i], problem.out_spatial[i], boundary,
                                    align=geo.tile_align(k, d, algorithm == "winograd"))
    op = SeparableBlock(stride=problem.stride, dilation=problem.dilation, algorithm=algorithm,
                        num_threads=num_threads)
    return build(x, plans, op, dtype, "fastconv-separable_conv2d", (dw, pw, b),
                 _split(pw, bounds), _split(b, bounds), channel_axis=channel, shared=dw)


separable_conv2d.__doc__ = """Lazy, chunked ``fastconv.separable_conv2d`` of a Dask array.

    Parameters
    ----------
    x : dask.array.Array
        Input ``(N, C, H, W)`` or ``(C, H, W)``, chunked along any axes (the
        pointwise stage mixes every channel: each block gathers them all).
    depthwise_weight, pointwise_weight, bias : array_like
        NumPy arrays, as for ``fastconv.separable_conv2d``.
    stride, padding, dilation, padding_mode, algorithm
        As for ``fastconv.separable_conv2d``.
    channel_chunks : int or tuple of int, optional
        Chunks of the output channels (one chunk by default).
{threads}
""".format(threads=_THREADS) + _COMMON.format(name="separable_conv2d") + """
    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv, fastconv.dask
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((2, 8, 30, 30)).astype(np.float32)
    >>> dw = rng.standard_normal((8, 1, 3, 3)).astype(np.float32)
    >>> pw = rng.standard_normal((16, 8, 1, 1)).astype(np.float32)
    >>> y = fastconv.dask.separable_conv2d(da.from_array(x, chunks=(1, 4, 10, 10)), dw, pw,
    ...                                    padding=1, channel_chunks=8)
    >>> y.chunks[1]
    (8, 8)
    >>> bool(np.array_equal(y.compute(), fastconv.separable_conv2d(x, dw, pw, padding=1)))
    True
"""


# --------------------------------------------------------------------------
# conv_transpose1d / 2d / 3d
# --------------------------------------------------------------------------
def _phase_algorithms(nd, t, weight):
    """The algorithm ``auto`` gives each stride phase of the whole problem's
    sub-pixel decomposition (as ``fastconv._transposed.transpose_core`` runs it)."""
    kernel = weight.shape[2:]
    in_spatial = t.x.shape[2:]
    wc_shape = conv_weight_of(stand_in(weight.shape), t.groups).shape
    found = set()
    for phase in itertools.product(*(range(s) for s in t.stride)):
        plans = [phase_plan(r, o, i, k, s, d, b) for r, o, i, k, s, d, b in
                 zip(phase, t.out_spatial, in_spatial, kernel, t.stride, t.dilation, t.before)]
        if any(p is None or p == "zero" for p in plans):
            continue
        x_shape = t.x.shape[:2] + tuple(p[3] - p[2] for p in plans)
        w_shape = wc_shape[:2] + tuple(len(p[0]) for p in plans)
        problem = prepare_conv(nd, stand_in(x_shape, t.dtype), stand_in(w_shape, t.dtype), None,
                               1, tuple((p[4], p[5]) for p in plans),
                               tuple(p[1] for p in plans), t.groups, "zeros", "auto", None,
                               convert_input=False)[0]
        found.add(choose_algorithm(problem))
    return found


def _conv_transpose(nd, x, weight, bias, stride, padding, output_padding, groups, dilation,
                    algorithm, layout, channel_chunks, num_threads):
    check_num_threads(num_threads)
    x = _as_dask(x, "input")
    _real_only(input=x, weight=weight, bias=bias)
    check_layout(layout)
    probe = to_channels_first(stand_in(x.shape, x.dtype), layout, nd)
    t = prepare_transposed(nd, probe, weight, bias, stride, padding, output_padding, groups,
                           dilation, algorithm, None, arrays=False)
    w = np.ascontiguousarray(weight, dtype=t.dtype)
    b = None if bias is None else np.ascontiguousarray(bias, dtype=t.dtype)
    name = f"conv_transpose{nd}d"
    pinned = algorithm
    if choose_transposed_algorithm(w, t.stride, t.groups, algorithm) == "im2col":
        pinned = "im2col"
    elif algorithm == "auto" and "winograd" in _phase_algorithms(nd, t, w):
        if any(s > 1 for s in t.stride):
            fn = partial(getattr(fastconv, name), weight=w, bias=b, stride=t.stride,
                         padding=tuple(zip(t.before, t.after)),
                         output_padding=t.output_padding, groups=t.groups,
                         dilation=t.dilation, algorithm=algorithm, layout=layout)
            shape = from_channels_first(stand_in(t.out_shape), layout, nd).shape
            return _single_block(x, fn, shape, t.dtype, name, num_threads)
        pinned = "winograd"
    batch, channel, spatial = _roles(nd, x.ndim, layout)
    c_in = probe.shape[-nd - 1]
    cig, cog = c_in // t.groups, w.shape[1]
    c_out = t.c_out
    plans = [None] * x.ndim
    if batch is not None:
        plans[batch] = geo.AxisPlan.identity(x.chunks[batch])
    plans[channel] = geo.channel_axis(x.chunks[channel], c_out, cig, cog,
                                      _channel_bounds(c_out, channel_chunks, cog))
    kernel = w.shape[2:]
    for i, axis in enumerate(spatial):
        k, d = kernel[i], t.dilation[i]
        plans[axis] = geo.transposed_axis(x.chunks[axis], k, t.stride[i], d, t.before[i],
                                          t.out_spatial[i],
                                          align=geo.tile_align(k, d, pinned == "winograd"))
    weights, biases = [], []
    bounds = geo.offsets(plans[channel].chunks)
    for (a, e), (ng, g0) in zip(zip(bounds[:-1], bounds[1:]), plans[channel].local):
        if ng > 1 or (a % cog == 0 and e % cog == 0):
            weights.append(np.ascontiguousarray(w[g0 * cig:(g0 + ng) * cig]))
        else:
            weights.append(np.ascontiguousarray(w[g0 * cig:(g0 + 1) * cig,
                                                  a - g0 * cog:e - g0 * cog]))
        biases.append(None if b is None else np.ascontiguousarray(b[a:e]))
    op = TransposedBlock(nd=nd, stride=t.stride, dilation=t.dilation, algorithm=pinned,
                         layout=layout, channel_axis=channel, spatial_axes=spatial,
                         num_threads=num_threads)
    return build(x, plans, op, t.dtype, f"fastconv-{name}", (w, b), weights, biases,
                 channel_axis=channel)


_TRANSPOSED_DOC = """Lazy, chunked ``fastconv.conv_transpose{nd}d`` of a Dask array.

    Parameters
    ----------
    x : dask.array.Array
        Input ``(N, C_in, {spatial})`` or unbatched, chunked along any axes.
    weight, bias : array_like
        NumPy arrays ``(C_in, C_out // groups, {kernel})`` and ``(C_out,)``.
    stride, padding, output_padding, groups, dilation, algorithm, layout
        As for ``fastconv.conv_transpose{nd}d``.
""" + _TAIL

_TRANSPOSED_EXAMPLES = {
    1: """    >>> import numpy as np, dask.array as da, fastconv, fastconv.dask
    >>> x = np.random.default_rng(0).standard_normal((1, 4, 50))
    >>> w = np.random.default_rng(1).standard_normal((4, 2, 4))
    >>> y = fastconv.dask.conv_transpose1d(da.from_array(x, chunks=(1, 4, 20)), w, stride=2,
    ...                                    padding=1)
    >>> y.shape, y.chunks[2]
    ((1, 2, 100), (40, 40, 20))
    >>> bool(np.array_equal(y.compute(), fastconv.conv_transpose1d(x, w, stride=2, padding=1)))
    True""",
    2: """    >>> import numpy as np, dask.array as da, fastconv, fastconv.dask
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((2, 16, 28, 28)).astype(np.float32)
    >>> w = rng.standard_normal((16, 8, 4, 4)).astype(np.float32)
    >>> y = fastconv.dask.conv_transpose2d(da.from_array(x, chunks=(1, 16, 10, 10)), w,
    ...                                    stride=2, padding=1)
    >>> y.shape, y.chunks[2]
    ((2, 8, 56, 56), (20, 20, 16))
    >>> ref = fastconv.conv_transpose2d(x, w, stride=2, padding=1)
    >>> bool(np.array_equal(y.compute(), ref))
    True""",
    3: """    >>> import numpy as np, dask.array as da, fastconv, fastconv.dask
    >>> x = np.random.default_rng(0).standard_normal((1, 2, 6, 7, 8))
    >>> w = np.ones((2, 1, 2, 2, 2))
    >>> y = fastconv.dask.conv_transpose3d(da.from_array(x, chunks=3), w, stride=2, groups=2)
    >>> y.shape
    (1, 2, 12, 14, 16)
    >>> ref = fastconv.conv_transpose3d(x, w, stride=2, groups=2)
    >>> bool(np.array_equal(y.compute(), ref))
    True""",
}


def _make_transposed(nd):
    names = {1: ("L", "k"), 2: ("H, W", "kh, kw"), 3: ("D, H, W", "kd, kh, kw")}

    def conv_transpose(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                       dilation=1, *, algorithm="auto", layout="channels_first",
                       channel_chunks=None, num_threads=None):
        return _conv_transpose(nd, x, weight, bias, stride, padding, output_padding, groups,
                               dilation, algorithm, layout, channel_chunks, num_threads)

    conv_transpose.__name__ = conv_transpose.__qualname__ = f"conv_transpose{nd}d"
    conv_transpose.__module__ = "fastconv.dask"
    conv_transpose.__doc__ = _TRANSPOSED_DOC.format(
        nd=nd, spatial=names[nd][0], kernel=names[nd][1], threads=_THREADS,
        name=f"conv_transpose{nd}d", example=_TRANSPOSED_EXAMPLES[nd])
    return conv_transpose


conv_transpose1d = _make_transposed(1)
conv_transpose2d = _make_transposed(2)
conv_transpose3d = _make_transposed(3)


# --------------------------------------------------------------------------
# correlate / convolve
# --------------------------------------------------------------------------
def _fft_axes(kernel, sizes):
    """Per axis ``(align, minimum)`` of the output chunks for the FFT
    algorithm: whole blocks of the whole problem (:func:`fastconv._blockwise.fft_blocks`),
    enough of them that a block's own FFT is blocked alike; None where the
    axis is one transform (it stays one chunk)."""
    plan = core.fft_blocks([s + k - 1 for s, k in zip(sizes, kernel)], kernel)
    out = []
    for (_, _, block), size, k in zip(plan, sizes, kernel):
        if block >= size:
            out.append(None)
            continue
        limit = core.fft_threshold(k, len(kernel))[1]
        need = limit - k + 2           # outputs whose extended input passes the limit
        out.append((block, -(-need // block) * block))
    return out


def _correlate(in1, in2, mode, boundary, fillvalue, algorithm, num_threads, convolve):
    name = "convolve" if convolve else "correlate"
    check_num_threads(num_threads)
    x = _as_dask(in1, "in1")
    kernel_in = np.asarray(in2)
    _real_only(in1=x, in2=kernel_in, fillvalue=fillvalue)
    probe = stand_in(x.shape, x.dtype)
    boundary, fillvalue, dtype, sizes, channels = core.check_correlate(
        probe, kernel_in, mode, boundary, fillvalue, algorithm, name)
    nd = kernel_in.ndim
    w = np.asarray(kernel_in, dtype=dtype)
    if convolve:
        w = w[(slice(None, None, -1),) * nd]
    w = np.ascontiguousarray(w)
    spatial = x.shape[:nd]
    if algorithm == "winograd":
        if nd != 2:
            raise ValueError(f"algorithm='winograd' applies to 2-D arrays, got {nd}-D; "
                             f"use one of 'auto', 'direct', 'fft'")
        check_winograd(w.shape, (1, 1), algorithms=("auto", "direct", "fft"))
    fill = float(fillvalue)
    out_shape = sizes + tuple(channels)
    swapped = (boundary == "fill" and fill == 0 and w.shape != spatial
               and all(k >= n for k, n in zip(w.shape, spatial)))
    pinned = algorithm
    if algorithm == "auto" and not swapped:
        pinned = core.choose_correlate_algorithm(stand_in(spatial, dtype), w, sizes)[0]
    fft_axes = _fft_axes(w.shape, sizes) if pinned == "fft" else None
    if swapped:
        fn = partial(getattr(fastconv, name), in2=kernel_in, mode=mode, boundary=boundary,
                     fillvalue=fillvalue, algorithm=algorithm)
        return _single_block(x, fn, out_shape, dtype, name, num_threads)
    plans = []
    for axis in range(nd):
        n, k = spatial[axis], w.shape[axis]
        start = core.region(n, k, mode)[0]
        align, minimum, bounds = 1, 1, None
        if pinned == "winograd":
            align = geo.tile_align(k, 1, True)
        elif fft_axes is not None:
            if fft_axes[axis] is None:
                bounds = (0, sizes[axis])
            else:
                align, minimum = fft_axes[axis]
        plans.append(geo.correlate_axis(x.chunks[axis], k, start, sizes[axis], boundary,
                                        align=align, minimum=minimum, bounds=bounds))
    if channels:
        plans.append(geo.AxisPlan.identity(x.chunks[nd]))
    op = CorrelateBlock(algorithm=pinned, channels=bool(channels), num_threads=num_threads)
    return build(x, plans, op, dtype, f"fastconv-{name}", (w, mode, boundary), [w], [None],
                 fill=fill)


_CORRELATE_DOC = """Lazy, chunked ``fastconv.{name}`` of a Dask array.

    Parameters
    ----------
    in1 : dask.array.Array
        The signal, image or volume (1-D to 3-D, optionally with a trailing
        channel axis), chunked along any axes.
    in2 : array_like
        The kernel, a NumPy array (put into the graph once).
    mode, boundary, fillvalue, algorithm
        As for ``fastconv.{name}``. With ``algorithm='fft'`` (also when
        'auto' chooses it) the output chunks are whole blocks of the FFT
        (overlap-save), along an axis long enough to be cut into blocks;
        an axis transformed whole stays one chunk.
{threads}
""" + _COMMON + """
    Examples
    --------
{example}
"""

_CORRELATE_EXAMPLES = {
    "correlate": """    >>> import numpy as np, dask.array as da, fastconv, fastconv.dask
    >>> image = np.random.default_rng(0).standard_normal((300, 400)).astype(np.float32)
    >>> g = np.exp(-0.5 * np.linspace(-2, 2, 7) ** 2).astype(np.float32)
    >>> kernel = np.outer(g, g) / np.outer(g, g).sum()
    >>> y = fastconv.dask.correlate(da.from_array(image, chunks=128), kernel, mode="same",
    ...                             boundary="reflect")
    >>> y.chunks
    ((128, 128, 44), (128, 128, 128, 16))
    >>> ref = fastconv.correlate(image, kernel, mode="same", boundary="reflect")
    >>> bool(np.array_equal(y.compute(), ref))
    True""",
    "convolve": """    >>> import numpy as np, dask.array as da, fastconv, fastconv.dask
    >>> signal = np.random.default_rng(0).standard_normal(10_000)
    >>> taps = np.hanning(31)
    >>> y = fastconv.dask.convolve(da.from_array(signal, chunks=3000), taps, mode="same",
    ...                            boundary="wrap")
    >>> y.chunks
    ((3000, 3000, 3000, 1000),)
    >>> ref = fastconv.convolve(signal, taps, mode="same", boundary="wrap")
    >>> bool(np.array_equal(y.compute(), ref))
    True""",
}


def correlate(in1, in2, mode="full", *, boundary="fill", fillvalue=0, algorithm="auto",
              num_threads=None):
    return _correlate(in1, in2, mode, boundary, fillvalue, algorithm, num_threads, False)


def convolve(in1, in2, mode="full", *, boundary="fill", fillvalue=0, algorithm="auto",
             num_threads=None):
    return _correlate(in1, in2, mode, boundary, fillvalue, algorithm, num_threads, True)


for _f in (correlate, convolve):
    _f.__doc__ = _CORRELATE_DOC.format(name=_f.__name__, threads=_THREADS,
                                       example=_CORRELATE_EXAMPLES[_f.__name__])
for _f in (depthwise_conv2d, separable_conv2d, correlate, convolve):
    _f.__module__ = "fastconv.dask"
del _f
