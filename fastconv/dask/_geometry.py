"""Where each output block of a chunked convolution reads its input.

Pure index arithmetic, one axis at a time (no dask here): an output chunk
``[a, b)`` of an axis reads a range of the *extended* input (the input with
the padding or boundary values around it); each extended position is an
input index or the fill value. The halo of an axis follows from its stride
``s``, dilation ``d``, kernel size ``k`` and padding before ``p``:

* a convolution's output ``[a, b)`` reads extended positions
  ``[s*a - p, s*(b - 1) - p + d*(k - 1)]``;
* a correlation (``fastconv.correlate``, mode offset ``start``) reads
  ``[start + a - (k - 1), start + b - 1]``;
* a transposed convolution's output ``[a, b)`` receives the input elements
  ``i`` with ``s*i - p + d*t`` in ``[a, b)`` for a tap ``t``: ``i`` from
  ``ceil((a + p - d*(k - 1)) / s)`` to ``floor((b - 1 + p) / s)``.

:class:`AxisPlan` holds, for every output chunk of an axis, the runs of
input chunks (and fill) it gathers, in order. The output chunks are chosen
here too: one per input chunk (the output positions whose window is centred
in it), aligned where an algorithm needs it (Winograd's tiles, the FFT's
blocks).
"""
from dataclasses import dataclass

import numpy as np

from fastconv._blockwise import extend_index

#: A padding mode of the convolutions as the boundary rule of the index maps.
PADDING_MODE_BOUNDARY = {"zeros": "fill", "reflect": "mirror", "replicate": "nearest",
                         "circular": "wrap"}


def offsets(chunks):
    """Start of every chunk, and the total: ``(0, c0, c0 + c1, ..., n)``."""
    return tuple(int(v) for v in np.concatenate([[0], np.cumsum(chunks, dtype=np.int64)]))


def chunks_from_bounds(bounds):
    """Chunk sizes between sorted boundaries (empty chunks dropped)."""
    return tuple(int(b - a) for a, b in zip(bounds[:-1], bounds[1:]) if b > a)


def output_bounds(in_offsets, size, position, align=1, minimum=1):
    """Output chunk boundaries: one chunk per input chunk, then aligned.

    ``position(c)`` is the first output position that belongs to input
    chunk boundary ``c``; the boundaries are clipped to ``[0, size]``, rounded
    down to a multiple of ``align`` and made ``minimum`` apart (a short last
    chunk joins the one before).
    """
    cuts = {0, size}
    for c in in_offsets[1:-1]:
        q = min(max(int(position(c)), 0), size)
        cuts.add(q // align * align)
    cuts = sorted(cuts)
    bounds = [0]
    for q in cuts[1:]:
        if q - bounds[-1] >= minimum:
            bounds.append(q)
    if bounds[-1] != size:
        if len(bounds) > 1 and size - bounds[-1] < minimum:
            bounds[-1] = size
        else:
            bounds.append(size)
    return tuple(bounds)


def fixed_bounds(size, chunks, name, align=1):
    """Boundaries of user-given output chunks (an int or a tuple of sizes)."""
    if isinstance(chunks, (int, np.integer)) and not isinstance(chunks, bool):
        if chunks < 1:
            raise ValueError(f"{name} must be >= 1, got {chunks}")
        step = max(align, int(chunks) // align * align)
        return tuple(range(0, size, step)) + (size,) if size else (0,)
    chunks = tuple(int(c) for c in chunks)
    if sum(chunks) != size or any(c < 1 for c in chunks):
        raise ValueError(f"{name} must be positive sizes summing to {size}, got {chunks}")
    return offsets(chunks)


@dataclass(frozen=True)
class Run:
    """A stretch of one output block's extended input along one axis.

    ``chunk`` is the input chunk it comes from (None: the fill value),
    ``index`` what to take from that chunk (a slice, or an int64 array),
    ``length`` how many positions.
    """

    chunk: object
    index: object
    length: int

    @property
    def whole(self):
        """True when the run is its input chunk, unchanged."""
        return isinstance(self.index, slice) and self.index == slice(None)


def _index_of(local, size):
    """What a run takes from a chunk of ``size``: a slice when ``local``
    steps by +1 or -1 (``slice(None)``: the whole chunk, in order), else the
    int64 array itself."""
    step = int(local[1] - local[0]) if local.size > 1 else 1
    if step in (1, -1) and np.all(np.diff(local) == step):
        first, last = int(local[0]), int(local[-1])
        if step == 1:
            return slice(None) if first == 0 and last == size - 1 else slice(first, last + 1)
        return slice(first, last - 1 if last > 0 else None, -1)
    return local


def _whole_within(local, size):
    """Where the whole chunk ``0, 1, ..., size - 1`` lies within ``local`` as
    one stretch, as ``(lo, hi)``, or None."""
    if local.size <= size:
        return None
    hits = np.flatnonzero(local == 0)
    for lo in hits:
        lo = int(lo)
        if lo + size <= local.size and local[lo + size - 1] == size - 1 and np.array_equal(
                local[lo:lo + size], np.arange(size)):
            return lo, lo + size
    return None


def runs_of(idx, in_offsets):
    """Split extended positions (input indices, -1 for fill) into :class:`Run` s.

    A run stays in one input chunk; it is a slice when its indices step by
    +1 or -1, an index array otherwise (a reflection's turning point, a
    replicated edge). A run that holds its whole chunk in order besides
    other positions of it (an edge chunk and its reflection) is cut in
    three, so that the whole chunk is read as it is: its block then reads
    the chunk itself (on the worker that holds it), and only the reflected
    part is copied out of it.
    """
    idx = np.asarray(idx, dtype=np.int64)
    if idx.size == 0:
        return ()
    starts = np.asarray(in_offsets[:-1], dtype=np.int64)
    chunk = np.where(idx >= 0, np.searchsorted(starts, idx, side="right") - 1, -1)
    cut = np.flatnonzero(np.diff(chunk)) + 1
    runs = []
    for lo, hi in zip(np.concatenate([[0], cut]), np.concatenate([cut, [idx.size]])):
        c = int(chunk[lo])
        if c < 0:
            runs.append(Run(None, None, int(hi - lo)))
            continue
        local = idx[lo:hi] - in_offsets[c]
        size = in_offsets[c + 1] - in_offsets[c]
        whole = _whole_within(local, size)
        parts = [local] if whole is None else [local[:whole[0]], local[whole[0]:whole[1]],
                                               local[whole[1]:]]
        runs.extend(Run(c, _index_of(part, size), int(part.size)) for part in parts
                    if part.size)
    return tuple(runs)


def extended_index(lo, hi, n, boundary):
    """Input index of extended positions ``[lo, hi)`` of an axis of ``n``
    (-1: the fill value), ``boundary`` as in :func:`fastconv.correlate`."""
    idx = np.arange(lo, hi, dtype=np.int64)
    inside = (idx >= 0) & (idx < n)
    if not np.all(inside):
        idx = np.where(inside, idx, extend_index(idx, n, boundary))
    return idx


@dataclass(frozen=True)
class AxisPlan:
    """The blocks of one axis: output chunk sizes, the runs each gathers, and
    what the block's computation needs to know about the axis (``local``)."""

    chunks: tuple
    runs: tuple
    local: tuple

    @classmethod
    def identity(cls, in_chunks):
        """Output chunk ``j`` is input chunk ``j`` (batch, filtered channels)."""
        in_chunks = tuple(int(c) for c in in_chunks)
        return cls(in_chunks, tuple((Run(j, slice(None), c),) for j, c in enumerate(in_chunks)),
                   (None,) * len(in_chunks))


def _ceil_div(a, b):
    return -(-a // b)


def conv_axis(in_chunks, kernel, stride, dilation, pad_before, out_size, boundary, align=1,
              bounds=None):
    """A convolution's spatial axis (``conv{N}d``, depthwise, separable).

    Output chunk ``[a, b)`` gathers extended positions
    ``[s*a - p, s*(b - 1) - p + d*(k - 1)]``: the block is a 'valid'
    convolution of them. Output positions belong to the input chunk holding
    the centre of their window.
    """
    o = offsets(in_chunks)
    n, k, s, d, p = o[-1], kernel, stride, dilation, pad_before
    if bounds is None:
        bounds = output_bounds(o, out_size, lambda c: _ceil_div(c + p - d * (k - 1) // 2, s),
                               align)
    runs = tuple(runs_of(extended_index(s * a - p, s * (b - 1) - p + d * (k - 1) + 1, n,
                                        boundary), o)
                 for a, b in zip(bounds[:-1], bounds[1:]))
    return AxisPlan(chunks_from_bounds(bounds), runs, (None,) * len(runs))


def correlate_axis(in_chunks, kernel, start, out_size, boundary, align=1, minimum=1,
                   bounds=None):
    """An axis of ``fastconv.correlate``: output ``[a, b)`` (of the mode's
    result, which starts at ``start`` of the full one) gathers the extended
    positions ``[start + a - (k - 1), start + b - 1]``; the block is a 'valid'
    correlation of them.

    ``boundary="none"``: the positions outside the array are not gathered
    (the block's own function applies the boundary at the array's ends);
    ``local`` is then ``(before, after)``, how many were left out on each side.
    """
    o = offsets(in_chunks)
    n, k = o[-1], kernel
    if bounds is None:
        bounds = output_bounds(o, out_size, lambda c: c - start + (k - 1) // 2, align, minimum)
    runs, local = [], []
    for a, b in zip(bounds[:-1], bounds[1:]):
        lo, hi = start + a - (k - 1), start + b
        if boundary == "none":
            local.append((max(0, -lo), max(0, hi - n)))
            lo, hi = max(lo, 0), min(hi, n)
        else:
            local.append(None)
        runs.append(runs_of(extended_index(lo, hi, n, boundary), o))
    return AxisPlan(chunks_from_bounds(bounds), tuple(runs), tuple(local))


def transposed_axis(in_chunks, kernel, stride, dilation, pad_before, out_size, align=1):
    """A transposed convolution's spatial axis.

    Output chunk ``[a, b)`` takes the input elements that land in it (none:
    ``local`` is None and the block is the bias alone), computed as a
    transposed convolution of them with ``local = (pad_before, pad_after,
    output_padding)`` so that its output is exactly ``[a, b)``.
    """
    o = offsets(in_chunks)
    n, k, s, d, p = o[-1], kernel, stride, dilation, pad_before
    span = d * (k - 1)
    bounds = output_bounds(o, out_size, lambda c: c * s - p + span // 2, align)
    runs, local = [], []
    for a, b in zip(bounds[:-1], bounds[1:]):
        # The first input reaching [a, b), or the one just before a gap.
        i0 = max(0, min(_ceil_div(a + p - span, s), (a + p) // s))
        i1 = min(n - 1, (b - 1 + p) // s)
        if i0 > i1:
            runs.append(())
            local.append(None)
            continue
        before = a + p - i0 * s
        excess = (i1 - i0) * s + span + 1 - before - (b - a)
        after, extra = (excess, 0) if excess >= 0 else (0, -excess)
        if extra and extra >= s and extra >= d:   # pragma: no cover - see the module docstring
            raise AssertionError(f"transposed block [{a}, {b}) needs output_padding {extra}")
        runs.append(runs_of(np.arange(i0, i1 + 1), o))
        local.append((before, after, extra))
    return AxisPlan(chunks_from_bounds(bounds), tuple(runs), tuple(local))


def channel_axis(in_chunks, c_out, cig, cog, out_bounds=None):
    """The channel axis of a grouped convolution (``cig`` input and ``cog``
    output channels per group).

    An output chunk lies within one group or is a run of whole groups; it
    gathers its groups' input channels whole (C_in is never split inside a
    group, so every sum runs in the in-memory order). ``local`` is
    ``(groups of the block, first group)``. By default the output chunks
    follow the input chunks, rounded to groups; with one group, one chunk.
    """
    o = offsets(in_chunks)
    groups = c_out // cog
    if out_bounds is None:
        if groups == 1:
            out_bounds = (0, c_out)
        else:
            out_bounds = tuple(sorted({0, c_out} | {(c // cig) * cog for c in o[1:-1]}))
    runs, local = [], []
    for a, b in zip(out_bounds[:-1], out_bounds[1:]):
        g0, g1 = a // cog, (b - 1) // cog
        if not (g0 == g1 or (a % cog == 0 and b % cog == 0)):
            raise ValueError(
                f"channel_chunks must keep each chunk of output channels within one group or "
                f"make it whole groups ({cog} output channels per group), got a chunk of "
                f"channels [{a}, {b})")
        runs.append(runs_of(np.arange(g0 * cig, (g1 + 1) * cig), o))
        local.append((g1 - g0 + 1 if g0 != g1 or (a % cog == 0 and b % cog == 0) else 1, g0))
    return AxisPlan(chunks_from_bounds(out_bounds), tuple(runs), tuple(local))


def gathered_axis(in_chunks, out_chunks):
    """An axis every output block reads whole (the channels of a pointwise
    stage), with output chunks of its own."""
    o = offsets(in_chunks)
    every = runs_of(np.arange(o[-1]), o)
    out_chunks = tuple(int(c) for c in out_chunks)
    return AxisPlan(out_chunks, (every,) * len(out_chunks), (None,) * len(out_chunks))


def tile_align(kernel, dilation, winograd):
    """Output alignment of an axis: Winograd F(2, 3) computes pairs of outputs
    (of each dilation sub-grid) by different formulas."""
    return 2 * dilation if winograd and kernel == 3 else 1

