"""The task graph of a chunked convolution.

For every output block, the runs of its axes (:class:`fastconv.dask._geometry.AxisPlan`)
are crossed into pieces: an input chunk used whole is read by key, a part of
one (a halo, a reflected edge) by a small ``take`` task next to that chunk,
so only the part travels between workers; a piece in the padding is filled
in the block's own task. The block's task assembles its pieces and runs the
in-memory function (:func:`fastconv.dask._blocks.run_block`).

Weights and biases are keys of their own, one per chunk of output channels:
a graph holds each of them once, and every name is a token of the call's
arguments, so the same call builds the same graph.
"""
import itertools

import numpy as np
from dask.array.core import Array
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from fastconv.dask._blocks import Assembly, run_block, take


def _pieces(x_name, block, plans, names, graph):
    """The pieces of one output block: keys (or take tasks added to ``graph``),
    their boxes in the block's extended input, and the boxes of fill."""
    runs = [plan.runs[j] for plan, j in zip(plans, block)]
    keys, boxes, fills = [], [], []
    starts = [np.concatenate([[0], np.cumsum([r.length for r in axis_runs])]) for axis_runs in runs]
    for count, combo in enumerate(itertools.product(*[range(len(r)) for r in runs])):
        pieces = [axis_runs[i] for axis_runs, i in zip(runs, combo)]
        box = tuple(slice(int(st[i]), int(st[i + 1])) for st, i in zip(starts, combo))
        if any(p.chunk is None for p in pieces):
            fills.append(box)
            continue
        src = (x_name,) + tuple(p.chunk for p in pieces)
        if all(p.whole for p in pieces):
            keys.append(src)
        else:
            key = (names["take"],) + tuple(block) + (count,)
            graph[key] = (take, src, tuple(p.index for p in pieces))
            keys.append(key)
        boxes.append(box)
    shape = tuple(int(st[-1]) for st in starts)
    return keys, tuple(boxes), tuple(fills), shape


def build(x, plans, op, dtype, name, token_args, weights, biases, channel_axis=None,
          fill=0.0, shared=None):
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
        The result's (and every block's extended input's) dtype.
    name : str
        Prefix of the graph's keys (the function's name).
    token_args : tuple
        Everything the result depends on besides ``x`` (tokenized).
    weights, biases : list
        Per chunk of output channels (along ``channel_axis``), the values the
        block's task receives as ``weight`` and ``bias`` (one entry if the
        result's channels are not split).
    channel_axis : int or None
        The axis whose output chunk selects the weight.
    fill : float
        The value of pieces in the padding.
    shared : object, optional
        A value every block's task receives as ``shared`` (the depthwise
        weights of a separable convolution), a key of its own.
    """
    token = tokenize(x, op, plans, dtype, token_args, fill)
    names = {"out": f"{name}-{token}", "take": f"{name}-take-{token}",
             "weight": f"{name}-weight-{token}", "bias": f"{name}-bias-{token}",
             "shared": f"{name}-shared-{token}"}
    graph = {}
    if shared is not None:
        graph[(names["shared"], 0)] = shared
    for j, w in enumerate(weights):
        graph[(names["weight"], j)] = w
    has_bias = any(b is not None for b in biases)
    if has_bias:
        for j, b in enumerate(biases):
            graph[(names["bias"], j)] = b
    chunks = tuple(plan.chunks for plan in plans)
    for block in itertools.product(*[range(len(c)) for c in chunks]):
        keys, boxes, fills, shape = _pieces(x.name, block, plans, names, graph)
        out_shape = tuple(c[j] for c, j in zip(chunks, block))
        spec = Assembly(shape=shape, dtype=np.dtype(dtype), boxes=boxes, fill_boxes=fills,
                        fill=fill, local=tuple(plan.local[j] for plan, j in zip(plans, block)),
                        out_shape=out_shape)
        jw = block[channel_axis] if channel_axis is not None and len(weights) > 1 else 0
        graph[(names["out"],) + tuple(block)] = (
            run_block, op, spec, keys, (names["weight"], jw),
            (names["bias"], jw) if has_bias else None,
            (names["shared"], 0) if shared is not None else None)
    hlg = HighLevelGraph.from_collections(names["out"], graph, dependencies=[x])
    return Array(hlg, names["out"], chunks, dtype=dtype,
                 meta=np.empty((0,) * len(chunks), dtype=dtype))
