"""The task graph of a chunked convolution.

For every output block, the runs of its axes (:class:`fastconv.dask._geometry.AxisPlan`)
are crossed into pieces: an input chunk used whole is read by key, a part of
one (a halo, a reflected edge) from that chunk's ``halos`` task, which cuts
every piece the neighbouring blocks need from the chunk as soon as it exists,
so only the parts travel between workers; a piece in the padding is filled
in the block's own task. The block's task assembles its pieces and runs the
in-memory function (:func:`fastconv.dask._blocks.run_block`).

Memory in flight: an input chunk is held until its own block has run (the
neighbours hold only its halo pieces), so when blocks run in the order of
the input chunks, the chunks held are about one row of chunks (the chunks
along every axis but the first) plus the blocks running. One task per
halo piece instead would hold each chunk until its last neighbour's block
has run (about two rows), since Dask orders such a small task just before
the block that reads it.

Weights and biases are keys of their own, one per chunk of output channels:
a graph holds each of them once, and every name is a token of the call's
arguments, so the same call builds the same graph.
"""
import itertools
import operator

import numpy as np
from dask.array.core import Array
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from fastconv.dask._blocks import Assembly, halos, run_block


def _axis_pieces(plan, j):
    """The runs of output chunk ``j`` of an axis as ``(chunk, index, whole,
    box)`` tuples, and the axis' extended length."""
    out, start = [], 0
    for run in plan.runs[j]:
        out.append((run.chunk, run.index, run.whole, slice(start, start + run.length)))
        start += run.length
    return out, start


def _pieces(x_name, block, axes, halo_name, cuts):
    """The pieces of one output block: keys or tasks (a part of a chunk: an
    item of that chunk's ``halos`` task, its index appended to ``cuts``),
    their boxes in the block's extended input, the boxes of fill, its shape."""
    per_axis = [axes[a][j] for a, j in enumerate(block)]
    keys, boxes, fills = [], [], []
    for combo in itertools.product(*[p[0] for p in per_axis]):
        box = tuple(c[3] for c in combo)
        src = tuple(c[0] for c in combo)
        if None in src:
            fills.append(box)
            continue
        if all(c[2] for c in combo):
            keys.append((x_name,) + src)
        else:
            indices = cuts.setdefault(src, [])
            keys.append((operator.getitem, (halo_name,) + src, len(indices)))
            indices.append(tuple(c[1] for c in combo))
        boxes.append(box)
    return keys, tuple(boxes), tuple(fills), tuple(p[1] for p in per_axis)


def build(x, plans, op, dtype, name, token_args, weights, biases, channel_axis=None,
          fill=0.0, shared=None, ext_dtype=None):
    """A dask array whose block ``J`` is ``op`` applied to the pieces ``plans`` give it.

    Parameters
    ----------
    x : dask.array.Array
        The input.
    plans : sequence of AxisPlan
        One per axis of ``x`` (and of the result).
    op : callable
        ``op(ext, weight, bias, spec)`` -> the block (see ``_blocks``).
    dtype : numpy.dtype
        The result's (and, unless ``ext_dtype`` is given, every block's
        extended input's) dtype.
    name : str
        Prefix of the graph's keys (the function's name).
    token_args : tuple
        Everything the result depends on besides ``x`` (tokenized).
    weights, biases : list
        Per chunk of output channels (along ``channel_axis``), the values the
        block's task receives as ``weight`` and ``bias`` (one entry if the
        result's channels are not split; all None: no key, the task
        receives None).
    channel_axis : int or None
        The axis whose output chunk selects the weight.
    fill : float
        The value of pieces in the padding.
    shared : object, optional
        A value every block's task receives as ``shared`` (the depthwise
        weights of a separable convolution), a key of its own.
    ext_dtype : numpy.dtype, optional
        The dtype of every block's extended input, when not ``dtype`` (a
        function whose result's dtype differs from its input's).
    """
    ext_dtype = np.dtype(dtype if ext_dtype is None else ext_dtype)
    token = tokenize(x, op, plans, dtype, ext_dtype, token_args, fill)
    names = {"out": f"{name}-{token}", "halo": f"{name}-halo-{token}",
             "weight": f"{name}-weight-{token}", "bias": f"{name}-bias-{token}",
             "shared": f"{name}-shared-{token}"}
    graph = {}
    if shared is not None:
        graph[(names["shared"], 0)] = shared
    has_weight = any(w is not None for w in weights)
    if has_weight:
        for j, w in enumerate(weights):
            graph[(names["weight"], j)] = w
    has_bias = any(b is not None for b in biases)
    if has_bias:
        for j, b in enumerate(biases):
            graph[(names["bias"], j)] = b
    chunks = tuple(plan.chunks for plan in plans)
    axes = [[_axis_pieces(plan, j) for j in range(len(plan.chunks))] for plan in plans]
    cuts = {}
    for block in itertools.product(*[range(len(c)) for c in chunks]):
        keys, boxes, fills, shape = _pieces(x.name, block, axes, names["halo"], cuts)
        out_shape = tuple(c[j] for c, j in zip(chunks, block))
        spec = Assembly(shape=shape, dtype=ext_dtype, boxes=boxes, fill_boxes=fills,
                        fill=fill, local=tuple(plan.local[j] for plan, j in zip(plans, block)),
                        out_shape=out_shape)
        jw = block[channel_axis] if channel_axis is not None and len(weights) > 1 else 0
        graph[(names["out"],) + tuple(block)] = (
            run_block, op, spec, keys, (names["weight"], jw) if has_weight else None,
            (names["bias"], jw) if has_bias else None,
            (names["shared"], 0) if shared is not None else None)
    for src, indices in cuts.items():
        graph[(names["halo"],) + src] = (halos, (x.name,) + src) + tuple(indices)
    hlg = HighLevelGraph.from_collections(names["out"], graph, dependencies=[x])
    return Array(hlg, names["out"], chunks, dtype=dtype,
                 meta=np.empty((0,) * len(chunks), dtype=dtype))
