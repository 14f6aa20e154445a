"""What a task of a ``fastconv.dask`` graph computes (run inside the workers).

A task receives the pieces of its block's extended input (whole input
chunks, halo slices of their neighbours, fill), places them into one array
(:func:`assemble`) and calls fastconv's in-memory function on it, with the
algorithm chosen once for the whole problem, its padding already in the
array, and the thread count of :mod:`fastconv.dask._workers`.
"""
from dataclasses import dataclass

import numpy as np

import fastconv
from fastconv._blockwise import correlate_channel
from fastconv.dask._workers import threads_for_task


def take(block, index):
    """``block`` indexed by one slice or int64 array per axis (outer
    indexing), as a new array: a view would keep the whole chunk alive in
    the worker's memory for as long as the piece is held (and Dask would
    count only the piece's bytes)."""
    out = block[tuple(i if isinstance(i, slice) else slice(None) for i in index)]
    for axis, i in enumerate(index):
        if not isinstance(i, slice):
            out = np.take(out, i, axis=axis)
    return out.copy() if out.base is not None else out


def halos(block, *indices):
    """The pieces of one input chunk that its neighbours' blocks read (one
    :func:`take` per index), computed together as soon as the chunk is, so
    that the chunk can be released once its own block has run."""
    return tuple(take(block, index) for index in indices)


@dataclass(frozen=True)
class Assembly:
    """How one block's extended input is put together: its shape and dtype,
    the box each piece goes to, the boxes of the fill value, and the block's
    per-axis facts for the computation (``local``, see ``_geometry``)."""

    shape: tuple
    dtype: np.dtype
    boxes: tuple
    fill_boxes: tuple
    fill: float
    local: tuple
    out_shape: tuple


def assemble(spec, pieces):
    """The block's extended input, of ``spec.dtype`` (converted as the
    in-memory functions convert their input)."""
    if len(pieces) == 1 and not spec.fill_boxes and np.shape(pieces[0]) == spec.shape:
        return np.ascontiguousarray(pieces[0], dtype=spec.dtype)
    ext = np.empty(spec.shape, spec.dtype)
    for box, piece in zip(spec.boxes, pieces):
        ext[box] = piece
    for box in spec.fill_boxes:
        ext[box] = spec.fill
    return ext


def run_block(op, spec, pieces, weight, bias, shared):
    """One task: assemble the block's input, compute it with ``op``."""
    ext = assemble(spec, pieces)
    with threads_for_task(op.num_threads):
        return op(ext, weight, bias, spec, shared)


@dataclass(frozen=True)
class ConvBlock:
    """``conv{nd}d`` of a block (depthwise: ``groups = C``): a 'valid'
    convolution of the extended input, the groups from the channel axis."""

    nd: int
    stride: tuple
    dilation: tuple
    algorithm: str
    layout: str
    channel_axis: int
    num_threads: object

    def __call__(self, ext, weight, bias, spec, shared):
        groups = spec.local[self.channel_axis][0]
        fn = getattr(fastconv, f"conv{self.nd}d")
        return fn(ext, weight, bias, self.stride, 0, self.dilation, groups,
                  algorithm=self.algorithm, layout=self.layout)


@dataclass(frozen=True)
class SeparableBlock:
    """``separable_conv2d`` of a block: all input channels, the pointwise
    weights of the block's output channels."""

    stride: tuple
    dilation: tuple
    algorithm: str
    num_threads: object

    def __call__(self, ext, pointwise, bias, spec, depthwise):
        return fastconv.separable_conv2d(ext, depthwise, pointwise, bias, self.stride, 0,
                                         self.dilation, algorithm=self.algorithm)


@dataclass(frozen=True)
class TransposedBlock:
    """``conv_transpose{nd}d`` of a block: the inputs that land in it, cropped
    and padded to exactly its outputs; a block no input reaches is the bias."""

    nd: int
    stride: tuple
    dilation: tuple
    algorithm: str
    layout: str
    channel_axis: int
    spatial_axes: tuple
    num_threads: object

    def __call__(self, ext, weight, bias, spec, shared):
        local = [spec.local[a] for a in self.spatial_axes]
        if any(v is None for v in local):
            out = np.empty(spec.out_shape, spec.dtype)
            shape = [1] * len(spec.out_shape)
            shape[self.channel_axis] = -1
            out[...] = 0 if bias is None else bias.reshape(shape)
            return out
        groups = spec.local[self.channel_axis][0]
        fn = getattr(fastconv, f"conv_transpose{self.nd}d")
        return fn(ext, weight, bias, self.stride, tuple((b, a) for b, a, _ in local),
                  tuple(e for _, _, e in local), groups, self.dilation,
                  algorithm=self.algorithm, layout=self.layout)


@dataclass(frozen=True)
class CorrelateBlock:
    """``fastconv.correlate`` of a block: the 'valid' correlation of its
    extended input (boundary values already in place), channel by channel,
    with the whole problem's algorithm (``separable``: the two 1-D passes)."""

    algorithm: str
    channels: bool
    num_threads: object

    def __call__(self, ext, kernel, bias, spec, shared):
        run = correlate_channel
        if not self.channels:
            return run(ext, kernel, "valid", "fill", 0.0, self.algorithm, None)
        out = np.empty(spec.out_shape, spec.dtype)
        for c in range(ext.shape[-1]):
            out[..., c] = run(np.ascontiguousarray(ext[..., c]), kernel, "valid", "fill", 0.0,
                              self.algorithm, None)
        return out


@dataclass(frozen=True)
class FilterBlock:
    """An in-memory filter of a block (its result has its input's shape,
    ``func(ext, mode=mode, **kwargs)``, the weights from the graph's key when
    given), cut to the block's outputs: along each axis they start
    ``before[axis]`` positions into the extended input, less what the axis
    plan left out at the array's start (``boundary="none"``: the function
    applies ``mode`` there itself)."""

    func: object
    mode: object
    kwargs: tuple
    before: tuple
    num_threads: object

    def __call__(self, ext, weights, bias, spec, shared):
        kwargs = dict(self.kwargs)
        if weights is not None:
            kwargs["weights"] = weights
        out = self.func(ext, mode=self.mode, **kwargs)
        if out.shape == spec.out_shape:
            return out
        starts = [b - (loc[0] if loc is not None else 0) for b, loc in zip(self.before, spec.local)]
        return out[tuple(slice(s, s + n) for s, n in zip(starts, spec.out_shape))].copy()
