"""fastconv.dask: lazy, chunked convolutions, bitwise equal to the in-memory ones.

Every result is compared with ``np.array_equal`` (bits, not a tolerance) to
the in-memory function on the whole array, for chunkings that are
irregular, of size 1, smaller than the halo, or longer than the axis: every
case on the synchronous scheduler, and a selection of them (every function,
every kind of chunking) on a real ``distributed.LocalCluster`` (two worker
processes of one thread each, a session fixture), computed in one call.

The module is skipped when dask is not installed; ``test_dask_optional.py``
checks that fastconv works without it.
"""
import os
import signal
import time
import warnings

import numpy as np
import pytest

import fastconv

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
import fastconv.dask as fd  # noqa: E402  (only with dask installed)
from fastconv.dask import _workers  # noqa: E402

WORKER_MEMORY = "400MiB"


@pytest.fixture(scope="session")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       memory_limit=WORKER_MEMORY, dashboard_address=":0")
    c = distributed.Client(cluster, set_as_default=False)
    yield c
    c.close()
    cluster.close()


def sync(arrays):
    return dask.compute(*arrays, scheduler="sync")


def _chunked(x, chunks):
    return da.from_array(x, chunks=chunks)


def _check_all(compute, cases):
    """cases: (label, lazy, expected); every result bitwise equal, metadata exact."""
    lazies = [lazy for _, lazy, _ in cases]
    for (label, lazy, ref) in cases:
        assert lazy.shape == ref.shape, label
        assert lazy.dtype == ref.dtype, label
        assert sum(lazy.chunks[0]) == ref.shape[0], label
    for (label, lazy, ref), got in zip(cases, compute(lazies)):
        assert got.shape == ref.shape and got.dtype == ref.dtype, label
        assert tuple(got.shape) == tuple(sum(c) for c in lazy.chunks), label
        np.testing.assert_array_equal(got, ref, err_msg=label)


RNG = np.random.default_rng(2024)


def _rand(shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


# --------------------------------------------------------------------------
# conv1d / conv2d / conv3d
# --------------------------------------------------------------------------
# (nd, x shape, chunks, weight shape, kwargs)
CONV_CASES = [
    (2, (2, 6, 23, 29), (1, (2, 4), (7, 1, 12, 3), (15, 14)), (8, 6, 3, 3), dict(padding=1)),
    (2, (1, 4, 7, 8), (1, 2, 1, 8), (8, 2, 3, 3), dict(padding="same", groups=2)),  # size 1
    (2, (1, 4, 14, 15), (1, 4, 2, 3), (5, 4, 7, 5),                          # chunks < halo
     dict(stride=2, padding=((3, 1), (2, 4)), dilation=(1, 2))),
    (2, (1, 3, 3, 2), (1, 1, 1, 1), (4, 3, 5, 5), dict(padding=2)),           # axes < halo
    (2, (1, 4, 19, 21), (1, 2, 7, 6), (4, 1, 3, 3),
     dict(padding=2, dilation=2, groups=4, padding_mode="reflect")),
    (2, (2, 4, 17, 20), (1, 1, 6, 7), (8, 1, 5, 3),
     dict(stride=(2, 3), padding=(2, 1), groups=4, padding_mode="replicate")),
    (2, (1, 3, 16, 18), (1, 3, 5, 5), (6, 3, 3, 3),
     dict(padding=(1, 3), padding_mode="circular", stride=2)),
    (2, (1, 3, 16, 18), (1, 3, 16, 18), (6, 3, 3, 3), dict(padding="valid")),
    (2, (1, 16, 21, 22), (1, 5, 4, 9), (16, 16, 3, 3),
     dict(padding=1, algorithm="winograd")),
    (2, (1, 16, 21, 22), (1, 16, 3, 7), (16, 16, 3, 3),
     dict(padding=2, dilation=2, algorithm="winograd")),
    (2, (1, 8, 20, 20), (1, 8, 6, 6), (16, 8, 3, 3), dict(padding=1, algorithm="im2col")),
    (1, (3, 4, 101), (2, 3, 17), (6, 2, 7), dict(groups=2, dilation=3, padding=((4, 1),))),
    (1, (2, 3, 20), (1, 1, 1), (4, 3, 4), dict(stride=3, padding="same")),
    (3, (1, 3, 9, 10, 11), (1, 2, 4, 3, 5), (4, 3, 3, 2, 3), dict(padding=1, stride=(1, 2, 1))),
    (3, (1, 2, 7, 8, 9), (1, 1, 3, 4, 4), (4, 1, 3, 3, 3),
     dict(groups=2, padding=1, padding_mode="reflect")),
]


def _conv_case(case):
    nd, xs, chunks, ws, kwargs = CONV_CASES[case]
    x, w, b = _rand(xs), _rand(ws), _rand(ws[0])
    ref = getattr(fastconv, f"conv{nd}d")(x, w, b, **kwargs)
    lazy = getattr(fd, f"conv{nd}d")(_chunked(x, chunks), w, b, **kwargs)
    return f"conv case {case}: {kwargs}", lazy, ref


@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_conv_bitwise(case):
    _check_all(sync, [_conv_case(case)])


def _layout_cases():
    x = _rand((2, 19, 23, 6))                      # channels last
    w, b = _rand((4, 3, 3, 3)), _rand(4)
    kw = dict(padding=1, groups=2, layout="channels_last")
    cases = [("channels_last", fd.conv2d(_chunked(x, (1, 7, 5, 3)), w, b, **kw),
              fastconv.conv2d(x, w, b, **kw)),
             ("unbatched channels_last", fd.conv2d(_chunked(x[0], (5, 9, 2)), w, b, **kw),
              fastconv.conv2d(x[0], w, b, **kw))]
    xi = RNG.integers(-5, 5, (2, 3, 15, 16))       # integers: computed in float64
    cases.append(("int input", fd.conv2d(_chunked(xi, (1, 3, 4, 4)), w[:, :1].repeat(3, 1),
                                         stride=2, padding=1),
                  fastconv.conv2d(xi, w[:, :1].repeat(3, 1), stride=2, padding=1)))
    x64 = _rand((1, 3, 14, 15), np.float64)
    cases.append(("float64, unbatched", fd.conv2d(_chunked(x64[0], 4), w.astype(np.float64),
                                                  padding="same"),
                  fastconv.conv2d(x64[0], w.astype(np.float64), padding="same")))
    return cases


def test_conv_layouts_dtypes_unbatched():
    _check_all(sync, _layout_cases())


def test_auto_chooses_once_for_the_whole_problem():
    # On the whole problem 'auto' picks Winograd (enough tiles); each block,
    # alone, would not: the blocks run Winograd, on tile boundaries.
    x, w = _rand((2, 32, 40, 44)), _rand((32, 32, 3, 3))
    lazy = fd.conv2d(_chunked(x, (1, 7, 9, 11)), w, padding=1)
    assert all(c % 2 == 0 for c in lazy.chunks[2][:-1] + lazy.chunks[3][:-1])
    np.testing.assert_array_equal(lazy.compute(scheduler="sync"),
                                  fastconv.conv2d(x, w, padding=1))


def test_channel_chunks():
    x, w, b = _rand((2, 8, 12, 13)), _rand((12, 2, 3, 3)), _rand(12)
    ref = fastconv.conv2d(x, w, b, padding=1, groups=4)
    lazy = fd.conv2d(_chunked(x, (1, 3, 5, 5)), w, b, padding=1, groups=4)
    assert lazy.chunks[1] == (3, 6, 3)              # the input's chunks, rounded to groups
    np.testing.assert_array_equal(lazy.compute(scheduler="sync"), ref)
    for chunks in (1, 2, (3, 6, 3), (6, 6)):        # within a group, or whole groups
        lazy = fd.conv2d(_chunked(x, 4), w, b, padding=1, groups=4, channel_chunks=chunks)
        np.testing.assert_array_equal(lazy.compute(scheduler="sync"), ref, err_msg=str(chunks))
    with pytest.raises(ValueError, match="within one group"):
        fd.conv2d(_chunked(x, 4), w, b, padding=1, groups=4, channel_chunks=(2, 4, 6))
    with pytest.raises(ValueError, match="channel_chunks"):
        fd.conv2d(_chunked(x, 4), w, b, groups=4, channel_chunks=(5, 5))


# --------------------------------------------------------------------------
# conv_transpose1d / 2d / 3d
# --------------------------------------------------------------------------
TRANSPOSED_CASES = [
    (2, (2, 16, 13, 11), (1, 16, 4, 3), (16, 8, 4, 4), dict(stride=2, padding=1)),    # GEMM
    (2, (1, 6, 9, 10), (1, (2, 4), 1, 3), (6, 2, 3, 3),
     dict(stride=2, padding=(1, 0), output_padding=1, groups=3, algorithm="direct")),
    (2, (1, 4, 8, 9), (1, 4, 2, 2), (4, 3, 5, 3),
     dict(stride=(3, 2), padding=((2, 1), (0, 3)), dilation=(1, 2), output_padding=(2, 1))),
    (2, (1, 4, 8, 9), (1, 1, 3, 4), (4, 4, 1, 1), dict(stride=3)),                   # gaps
    (2, (1, 16, 12, 13), (1, 8, 5, 4), (16, 16, 3, 3), dict(padding=1, algorithm="winograd")),
    (2, (1, 32, 16, 15), (1, 32, 5, 4), (32, 32, 3, 3), dict(padding=1)),   # auto: Winograd
    (2, (1, 4, 10, 11), (1, 4, 10, 11), (4, 2, 4, 4), dict(stride=2, algorithm="im2col")),
    (1, (2, 6, 40), (1, 3, 7), (6, 4, 5), dict(stride=2, padding=2, output_padding=1, groups=2)),
    (3, (1, 4, 5, 6, 7), (1, 2, 2, 3, 3), (4, 2, 3, 2, 3),
     dict(stride=(2, 1, 2), padding=1, groups=2)),
]


def _transposed_case(case):
    nd, xs, chunks, ws, kwargs = TRANSPOSED_CASES[case]
    x, w = _rand(xs), _rand(ws)
    b = _rand(ws[1] * kwargs.get("groups", 1))
    ref = getattr(fastconv, f"conv_transpose{nd}d")(x, w, b, **kwargs)
    lazy = getattr(fd, f"conv_transpose{nd}d")(_chunked(x, chunks), w, b, **kwargs)
    return f"transposed case {case}: {kwargs}", lazy, ref


@pytest.mark.parametrize("case", range(len(TRANSPOSED_CASES)))
def test_conv_transpose_bitwise(case):
    _check_all(sync, [_transposed_case(case)])


# --------------------------------------------------------------------------
# depthwise_conv2d, separable_conv2d
# --------------------------------------------------------------------------
def _variant_cases():
    x = _rand((2, 12, 33, 35))
    dw, pw, b = _rand((24, 1, 5, 5)), _rand((20, 24, 1, 1)), _rand(20)
    cases = []
    for chunks in [(1, 5, 7, 6), (2, (1, 11), (2, 31), (30, 2, 3))]:
        xd = _chunked(x, chunks)
        kw = dict(stride=2, padding=2, padding_mode="reflect")
        cases.append((f"depthwise {chunks}", fd.depthwise_conv2d(xd, dw, **kw),
                      fastconv.depthwise_conv2d(x, dw, **kw)))
        for algorithm in ("auto", "im2col"):
            kw = dict(padding="same", dilation=2, algorithm=algorithm)
            cases.append((f"separable {chunks} {algorithm}",
                          fd.separable_conv2d(xd, dw, pw, b, channel_chunks=(5, 15), **kw),
                          fastconv.separable_conv2d(x, dw, pw, b, **kw)))
    return cases


def test_depthwise_and_separable_bitwise():
    _check_all(sync, _variant_cases())


# --------------------------------------------------------------------------
# correlate / convolve
# --------------------------------------------------------------------------
def _gauss(k, dtype=np.float32):
    g = np.exp(-0.5 * np.linspace(-2, 2, k) ** 2)
    return np.outer(g, g).astype(dtype) / np.outer(g, g).sum()


CORRELATE_CASES = [  # (x shape, chunks, kernel shape or 'gauss', kwargs)
    ((61, 70), ((9, 1, 30, 21), (35, 35)), (5, 7), dict(mode="same", boundary="reflect")),
    ((61, 70), 4, (5, 7), dict(mode="full", boundary="mirror")),
    ((61, 70), (20, 20), (5, 7), dict(mode="valid")),
    ((61, 70), (13, 17), (4, 6), dict(mode="same", boundary="wrap")),
    ((61, 70), (13, 17), (3, 3), dict(mode="same", boundary="nearest")),
    ((61, 70), (13, 17), (3, 3), dict(mode="same", boundary="fill", fillvalue=1.5)),
    ((61, 70), (13, 17), (3, 3), dict(mode="full", algorithm="winograd")),
    ((2, 3), (1, 1), (5, 5), dict(mode="same", boundary="symmetric")),         # axes < halo
    ((300, 260), (70, 90), "gauss", dict(mode="same", boundary="reflect")),    # auto: separable
    ((40, 30, 3), (15, 7, 1), (3, 5), dict(mode="same", boundary="reflect")),   # channels
    ((500,), (37,), (9,), dict(mode="full", boundary="wrap")),
    ((6000,), (1000,), (9,), dict(mode="same", algorithm="fft")),              # blocks
    ((700, 37), (100, 10), (5, 3), dict(mode="same", algorithm="fft")),        # 2-D blocks
    ((11, 12, 13), (4, 5, 6), (3, 2, 3), dict(mode="same", boundary="mirror")),
]


def _correlate_case(case, name):
    xs, chunks, ks, kwargs = CORRELATE_CASES[case]
    x = _rand(xs)
    k = _gauss(9) if ks == "gauss" else _rand(ks)
    return (f"{name} {xs} {ks} {kwargs}", getattr(fd, name)(_chunked(x, chunks), k, **kwargs),
            getattr(fastconv, name)(x, k, **kwargs))


@pytest.mark.parametrize("name", ["correlate", "convolve"])
def test_correlate_bitwise(name):
    _check_all(sync, [_correlate_case(case, name) for case in range(len(CORRELATE_CASES))])


def test_bitwise_on_the_cluster(client):
    # Every function on a real cluster, in one compute: irregular, size-1,
    # smaller-than-the-halo and longer-than-the-axis chunks, groups, a
    # padding mode, Winograd's tiles, the FFT's blocks, a separable kernel,
    # the ndimage filters.
    x, w, b = _rand((1, 16, 21, 22)), _rand((16, 16, 3, 3)), _rand(16)
    xv, dw, pw = _rand((1, 6, 20, 21)), _rand((12, 1, 3, 3)), _rand((8, 12, 1, 1))
    xt, wt = _rand((1, 4, 11, 12)), _rand((4, 3, 4, 4))
    cases = [_conv_case(c) for c in (0, 1, 3)] + [
        ("winograd", fd.conv2d(_chunked(x, (1, 16, 8, 11)), w, b, padding=1,
                               algorithm="winograd"),
         fastconv.conv2d(x, w, b, padding=1, algorithm="winograd")),
        ("depthwise", fd.depthwise_conv2d(_chunked(xv, (1, 3, 8, 11)), dw, padding=1,
                                          padding_mode="reflect"),
         fastconv.depthwise_conv2d(xv, dw, padding=1, padding_mode="reflect")),
        ("separable", fd.separable_conv2d(_chunked(xv, (1, 3, 8, 11)), dw, pw, stride=2),
         fastconv.separable_conv2d(xv, dw, pw, stride=2)),
        ("transposed", fd.conv_transpose2d(_chunked(xt, (1, 2, (5, 1, 5), 6)), wt, stride=2,
                                           padding=1, output_padding=1),
         fastconv.conv_transpose2d(xt, wt, stride=2, padding=1, output_padding=1)),
    ] + [_correlate_case(c, "correlate") for c in (0, 8, 12)] + [
        _correlate_case(c, "convolve") for c in (7, 11)] + _ndimage_cases()
    assert sum(len(lazy.__dask_graph__()) for _, lazy, _ in cases) < 1000
    _check_all(lambda arrays: client.gather(client.compute(list(arrays))), cases)


def _ndimage_cases():
    """fastconv.dask.ndimage's filters (the same graph): wrap from the far
    end, a merged size-1 chunk, an integer input, an origin."""
    import fastconv.ndimage as ndi
    import fastconv.dask.ndimage as dndi
    x = _rand((23, 30), np.float64)
    xi = RNG.integers(0, 255, (23, 30)).astype(np.uint8)
    chunks = ((5, 1, 9, 8), (7, 11, 12))
    cases = [("gaussian wrap", dndi.gaussian_filter(_chunked(x, chunks), 1.5, mode="wrap"),
              ndi.gaussian_filter(x, 1.5, mode="wrap")),
             ("sobel uint8", dndi.sobel(_chunked(xi, chunks), axis=0),
              ndi.sobel(xi, axis=0)),
             ("correlate origin", dndi.correlate(_chunked(x, chunks), np.ones((3, 4)),
                                                 mode="mirror", origin=(1, -1)),
              ndi.correlate(x, np.ones((3, 4)), mode="mirror", origin=(1, -1)))]
    return cases


def test_correlate_kernel_larger_than_the_input_is_one_block():
    # The in-memory function swaps the roles of the arrays there: one block.
    x, k = _rand((5, 6)), _rand((7, 8))
    with pytest.warns(fd.SingleBlockWarning):
        lazy = fd.correlate(_chunked(x, 2), k)
    assert lazy.numblocks == (1, 1)
    np.testing.assert_array_equal(lazy.compute(scheduler="sync"), fastconv.correlate(x, k))


@pytest.mark.parametrize("seed", range(2))
def test_random_configurations(seed):
    # Random geometry, chunking, padding form and mode, groups, algorithm and
    # layout: the synchronous scheduler, bitwise.
    rng = np.random.default_rng(seed)
    checked = 0
    while checked < 20:
        nd = int(rng.integers(1, 4))
        g, cig, cog = int(rng.choice([1, 2, 3])), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        k = tuple(int(v) for v in rng.integers(1, 5, nd))
        s = tuple(int(v) for v in rng.integers(1, 4, nd))
        d = tuple(int(v) for v in rng.integers(1, 3, nd))
        sp = tuple(int(rng.integers((kk - 1) * dd + 1, 14 if nd < 3 else 9))
                   for kk, dd in zip(k, d))
        x = rng.standard_normal((int(rng.integers(1, 3)), g * cig) + sp).astype(np.float32)
        w = rng.standard_normal((g * cog, cig) + k).astype(np.float32)
        padding = [int(rng.integers(0, 3)), tuple(int(v) for v in rng.integers(0, 3, nd)),
                   tuple((int(a), int(b)) for a, b in rng.integers(0, 3, (nd, 2))),
                   "same", "valid"][int(rng.integers(0, 5))]
        kwargs = dict(stride=s, padding=padding, dilation=d, groups=g,
                      padding_mode=str(rng.choice(["zeros", "reflect", "replicate",
                                                   "circular"])))
        chunks = tuple(int(rng.integers(1, n + 1)) for n in x.shape)
        try:
            ref = getattr(fastconv, f"conv{nd}d")(x, w, **kwargs)
        except ValueError:
            continue
        lazy = getattr(fd, f"conv{nd}d")(_chunked(x, chunks), w, **kwargs)
        np.testing.assert_array_equal(lazy.compute(scheduler="sync"), ref,
                                      err_msg=f"{x.shape} {chunks} {w.shape} {kwargs}")
        checked += 1


# --------------------------------------------------------------------------
# The graph
# --------------------------------------------------------------------------
def _values(lazy):
    """Every value and task argument in the graph of ``lazy``'s own layer."""
    layer = lazy.__dask_graph__().layers[lazy.name]
    found = []

    def walk(v):
        if isinstance(v, (tuple, list)):
            for item in v:
                walk(item)
        else:
            found.append(v)
    for value in layer.values():
        walk(value)
    return found


def test_graph_is_lazy_deterministic_and_holds_the_weights_once():
    calls = []

    def never(block):
        calls.append(1)
        raise AssertionError("the input was computed while building the graph")

    x = da.zeros((2, 8, 40, 40), chunks=(1, 4, 16, 16), dtype=np.float32).map_blocks(
        never, meta=np.empty((0,) * 4, np.float32))
    w, b = _rand((16, 4, 3, 3)), _rand(16)
    y1 = fd.conv2d(x, w, b, padding=1, groups=2)
    y2 = fd.conv2d(x, w, b, padding=1, groups=2)
    assert not calls
    assert y1.shape == (2, 16, 40, 40) and y1.dtype == np.float32
    assert y1.chunks == ((1, 1), (8, 8), (16, 16, 8), (16, 16, 8))
    assert y1.name == y2.name
    assert fd.conv2d(x, w * 2, b, padding=1, groups=2).name != y1.name
    assert fd.conv2d(x, w, b, padding=2, groups=2).name != y1.name
    arrays = [v for v in _values(y1) if isinstance(v, np.ndarray)]
    weights = [a for a in arrays if a.ndim == 4]
    # one weight piece per chunk of output channels, together the weight once
    assert len(weights) == 2 and sum(a.size for a in weights) == w.size
    assert sum(a.size for a in arrays if a.ndim == 1 and a.dtype == np.float32) == b.size


def _check_only_halos_travel(x, y, strip):
    """Every block of ``y`` reads its own chunk of ``x`` by key, and every
    piece cut from a chunk for another block is at most ``strip`` elements."""
    from fastconv.dask._blocks import halos
    graph = y.__dask_graph__().layers[y.name]
    blocks = {k[1:]: v for k, v in graph.items() if k[0] == y.name}
    cuts = [v for k, v in graph.items() if "-halo-" in k[0]]
    assert len(blocks) == len(cuts) == x.npartitions   # one halos task per input chunk
    for j, task in blocks.items():
        assert (x.name,) + j in task[3]               # its own chunk, by key, not a copy
    for task in cuts:
        assert task[0] is halos and task[1][0] == x.name
        chunk = [x.chunks[axis][j] for axis, j in enumerate(task[1][1:])]
        assert 1 <= len(task) - 2 <= 8               # the pieces its neighbours read
        for index in task[2:]:
            sizes = [len(range(n)[i]) if isinstance(i, slice) else len(i)
                     for n, i in zip(chunk, index)]
            assert np.prod(sizes) <= strip


def test_only_halos_travel():
    # A block reads its own chunk by key and the neighbours' edges from their
    # chunks' halos tasks (copies of the strips), never a whole neighbouring chunk.
    from fastconv.dask._blocks import halos
    x = _chunked(_rand((1, 1, 64, 64)), (1, 1, 16, 16))
    y = fd.conv2d(x, np.ones((1, 1, 5, 5), np.float32), padding=2)
    _check_only_halos_travel(x, y, 16 * 2)           # at most a 2-wide strip of a 16 x 16 chunk
    strip = halos(np.arange(16.0).reshape(4, 4), (slice(0, 2), slice(None)))[0]
    assert strip.base is None                     # a copy: it does not hold the chunk


@pytest.mark.parametrize("boundary", ["reflect", "symmetric", "mirror", "nearest", "wrap"])
def test_edge_blocks_read_their_chunk_whole(boundary):
    # At the array's edges the boundary values are a few reflected (or
    # replicated, wrapped) rows of a chunk: they are cut like a halo, and the
    # edge block still reads its chunk by key (a chunk copied together with
    # its reflection would be a whole chunk built, and moved between workers,
    # for every edge block).
    x = _chunked(_rand((41, 37)), (12, 10))
    w = _rand((5, 4))
    y = fd.correlate(x, w, "same", boundary=boundary)
    _check_only_halos_travel(x, y, 12 * 3)           # at most a 3-wide strip of a chunk
    assert np.array_equal(y.compute(scheduler="sync"),
                          fastconv.correlate(x.compute(), w, "same", boundary=boundary))
    z = fd.conv2d(x[None, None], w[None, None], padding=2, padding_mode="replicate")
    _check_only_halos_travel(x[None, None], z, 12 * 2)


def _held_peak(array, prefix):
    """The most chunks of ``prefix`` held at once when ``array``'s graph runs
    one task at a time in ``dask.order``'s order (a chunk is released when
    its last dependent has run)."""
    from dask.core import get_deps
    from dask.order import order
    graph = dict(array.__dask_graph__())
    deps, dependents = get_deps(graph)
    left = {k: len(v) for k, v in dependents.items()}
    held = peak = 0
    for key in sorted(graph, key=order(graph, dependencies=deps).__getitem__):
        held += key[0].startswith(prefix)
        peak = max(peak, held)
        for dep in deps[key]:
            left[dep] -= 1
            held -= left[dep] == 0 and dep[0].startswith(prefix)
    return peak


def test_an_input_chunk_is_released_after_its_own_block():
    # Out of core, the input chunks in memory at once are about one row of
    # chunks: a chunk's halos are cut as soon as it exists, so its
    # neighbours' blocks do not keep it (one task per piece, or blocks
    # reading their neighbours whole, would keep about two rows).
    x = da.random.default_rng(0).standard_normal((32, 64), chunks=4, dtype=np.float32)
    y = fd.correlate(x, np.ones((5, 5), np.float32), mode="same")
    assert x.numblocks == (8, 16)
    assert _held_peak(y, x.name) <= 16 + 4


# --------------------------------------------------------------------------
# Errors: those of the in-memory functions
# --------------------------------------------------------------------------
def test_errors():
    x = _chunked(_rand((1, 4, 10, 10)), 5)
    w = _rand((4, 4, 3, 3))
    with pytest.raises(ValueError, match="padding="):
        fd.conv2d(x, w, padding="sideways")
    with pytest.raises(ValueError, match="groups"):
        fd.conv2d(x, w, groups=3)
    with pytest.raises(ValueError, match="winograd"):
        fd.conv2d(x, w, stride=2, algorithm="winograd")
    with pytest.raises(ValueError, match="n=0"):
        fd.conv2d(x, w, num_threads=0)
    with pytest.raises(TypeError):
        fd.conv2d(_chunked(np.zeros((1, 4, 5, 5), complex), 5), w)
    with pytest.raises(ValueError, match="mode="):
        fd.correlate(_chunked(_rand((9, 9)), 3), _rand((3, 3)), mode="middle")
    with pytest.raises(ValueError, match="winograd"):
        fd.correlate(_chunked(_rand(9), 3), _rand(3), algorithm="winograd")
    with pytest.raises(ValueError, match="output_padding"):
        fd.conv_transpose2d(x, w, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="depthwise|weight"):
        fd.depthwise_conv2d(x, w)
    with pytest.raises(ValueError, match="pointwise_weight"):
        fd.separable_conv2d(x, _rand((4, 1, 3, 3)), _rand((2, 3, 1, 1)))


# --------------------------------------------------------------------------
# Threads inside workers
# --------------------------------------------------------------------------
def _thread_probe(num_threads):
    import fastconv as fc
    from fastconv.dask._workers import threads_for_task
    before = fc.get_num_threads()
    with threads_for_task(num_threads) as n:
        inside = fc.get_num_threads()
    return before, n, inside, fc.get_num_threads()


def _worker_facts(dask_worker):
    import os as _os

    from dask.system import CPU_COUNT
    return _os.environ.get("OMP_NUM_THREADS"), CPU_COUNT, dask_worker.state.nthreads


def test_worker_thread_settings(client):
    facts = client.run(_worker_facts)
    assert len(facts) == 2
    for omp, cores, nthreads in facts.values():
        assert omp == "1"            # the nanny's default: a naive library runs 1 thread
        assert nthreads == 1
    cores = next(iter(facts.values()))[1]
    # The workers of one host share its cores: here both workers' threads.
    hosts = [w["host"] for w in client.scheduler_info()["workers"].values()]
    assert len(hosts) == 2 and hosts[0] == hosts[1]
    before, n, inside, after = client.submit(_thread_probe, None, pure=False).result()
    assert (before, n, inside, after) == (1, max(1, cores // 2), max(1, cores // 2), 1)
    assert client.submit(_thread_probe, 1, pure=False).result()[2] == 1
    assert client.submit(_thread_probe, -1, pure=False).result()[2] == cores


def test_host_threads_are_cached_and_fall_back_to_the_worker_s_own(monkeypatch):
    class Worker:
        address = "tcp://10.0.0.1:4321"
    asked = []

    def ask(worker, answer):
        asked.append(worker.address)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(_workers, "_host_threads", {})
    monkeypatch.setattr(_workers, "_ask_host_threads", lambda w: ask(w, OSError("no scheduler")))
    assert _workers._host_threads_of(Worker(), 3) == 3          # the worker's own threads
    monkeypatch.setattr(_workers, "_host_threads", {})
    monkeypatch.setattr(_workers, "_ask_host_threads", lambda w: ask(w, 8))
    assert _workers._host_threads_of(Worker(), 2) == 8
    assert _workers._host_threads_of(Worker(), 2) == 8 and len(asked) == 2   # cached
    monkeypatch.setattr(_workers, "HOST_THREADS_TTL", 0.0)
    assert _workers._host_threads_of(Worker(), 2) == 8 and len(asked) == 3   # asked again


def test_threads_on_the_local_schedulers():
    assert _workers.task_threads(3) == 3
    assert _workers.task_threads(None) is None          # the main thread: fastconv's own
    from concurrent.futures import ThreadPoolExecutor
    with dask.config.set(num_workers=2), ThreadPoolExecutor(1) as pool:
        expected = max(1, _workers._cores() // 2)
        assert pool.submit(_workers.task_threads, None).result() == expected
    x, w = _rand((2, 4, 30, 30)), _rand((4, 4, 3, 3))
    got = fd.conv2d(_chunked(x, (1, 4, 10, 10)), w, padding=1).compute(scheduler="threads")
    np.testing.assert_array_equal(got, fastconv.conv2d(x, w, padding=1))


# --------------------------------------------------------------------------
# Fault tolerance, start methods
# --------------------------------------------------------------------------
def _slow(block):
    time.sleep(0.15)
    return block


def test_killing_a_worker_mid_compute_gives_the_same_bits(client):
    distributed = pytest.importorskip("distributed")
    x = _rand((4, 8, 96, 96))
    w, b = _rand((8, 8, 3, 3)), _rand(8)
    ref = fastconv.conv2d(x, w, b, padding=1)
    slow_input = _chunked(x, (1, 8, 32, 32)).map_blocks(_slow, dtype=x.dtype)
    future = client.compute(fd.conv2d(slow_input, w, b, padding=1))
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]
    deadline = time.time() + 60
    while time.time() < deadline:                # until some input tasks are done
        if sum(len(v) for v in client.has_what().values()) >= 4:
            break
        time.sleep(0.05)
    assert not future.done()
    os.kill(pids[victim], signal.SIGKILL)
    np.testing.assert_array_equal(future.result(timeout=300), ref)
    client.wait_for_workers(2, timeout=120)
    assert victim not in client.scheduler_info()["workers"]   # it was replaced
    del distributed


def test_fork_start_method():
    distributed = pytest.importorskip("distributed")
    x, w = _rand((2, 4, 30, 30)), _rand((4, 4, 3, 3))
    fastconv.conv2d(x, w, padding=1)           # the parent has started OpenMP threads
    with dask.config.set({"distributed.worker.multiprocessing-method": "fork"}):
        with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                      dashboard_address=":0") as cluster, \
                distributed.Client(cluster, set_as_default=False) as c:
            got = c.compute(fd.conv2d(_chunked(x, (1, 4, 10, 10)), w, padding=1)).result()
    np.testing.assert_array_equal(got, fastconv.conv2d(x, w, padding=1))


# --------------------------------------------------------------------------
# Out of core
# --------------------------------------------------------------------------
def _bigmem_skip():
    # Opt-in: a 2 GiB run of about a minute, beyond the CI budget.
    if os.environ.get("FASTCONV_DASK_OUT_OF_CORE", "").strip() in ("", "0"):
        pytest.skip("the out-of-core run is opt-in: set FASTCONV_DASK_OUT_OF_CORE=1")
    if os.environ.get("FASTCONV_SKIP_BIGMEM", "").strip() not in ("", "0"):
        pytest.skip("FASTCONV_SKIP_BIGMEM is set")
    pytest.importorskip("psutil")
    try:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) for line in f}
    except OSError:
        return
    if info.get("MemAvailable", 0) < 3 * 2**20:
        pytest.skip("less than 3 GiB of memory available (the result's pages are cached)")


def _rss():
    import psutil
    return psutil.Process().memory_info().rss


class _NpyRegions:
    """A .npy file that ``da.store`` writes region by region, with file
    writes. It pickles as its path and header: a ``numpy.memmap`` target
    would be shipped to the workers with all its data (the whole result,
    more than their memory), and one mapped in the worker's ``__setitem__``
    counts the file's pages it touches (and the pages read around them) in
    the worker's memory, up to several times the region."""

    def __init__(self, path):
        header = np.load(path, mmap_mode="r")
        self.path, self.shape, self.dtype, self.offset = (
            str(path), header.shape, header.dtype, header.offset)

    def __setitem__(self, key, value):
        rows, cols = key                          # a slice per axis, from da.store
        value = np.ascontiguousarray(value, self.dtype)
        row = self.shape[1] * self.dtype.itemsize
        with open(self.path, "r+b") as f:
            for i, r in enumerate(range(rows.start, rows.stop)):
                f.seek(self.offset + r * row + cols.start * self.dtype.itemsize)
                f.write(value[i].tobytes())


def _spot(x, k, top, left, rows, cols):
    """The in-memory result of a region: its input with the halo (zeros
    outside the array, boundary='fill'), correlated 'valid'."""
    h, w = k.shape[0] // 2, k.shape[1] // 2
    r0, c0 = max(top - h, 0), max(left - w, 0)
    r1, c1 = min(top + rows + h, x.shape[0]), min(left + cols + w, x.shape[1])
    region = x[r0:r1, c0:c1].compute(scheduler="sync")
    padded = np.pad(region, ((r0 - (top - h), top + rows + h - r1),
                             (c0 - (left - w), left + cols + w - c1)))
    return fastconv.correlate(padded, k, mode="valid")


def test_out_of_core(client, tmp_path):
    """A 2 GiB input, generated lazily, convolved by two workers of 400 MiB and
    written to a .npy file: no worker killed or restarted, every
    worker's memory under its limit throughout, spot checks bitwise."""
    import shutil
    import threading

    from distributed.diagnostics import MemorySampler
    _bigmem_skip()
    shape, chunks = (16384, 32768), (2048, 2048)
    nbytes = shape[0] * shape[1] * 4
    if shutil.disk_usage(tmp_path).free < 2 * nbytes:
        pytest.skip("not enough disk space for the result")
    limit = dask.utils.parse_bytes(WORKER_MEMORY)
    assert nbytes > 2 * limit                    # more than the workers' memory together
    client.wait_for_workers(2, timeout=120)
    workers_before = client.run(os.getpid)
    x = da.random.default_rng(7).standard_normal(shape, chunks=chunks, dtype=np.float32)
    k = _gauss(5).astype(np.float32)
    y = fd.correlate(x, k, mode="same", boundary="fill")
    assert y.dtype == np.float32 and y.chunks == x.chunks
    path = tmp_path / "y.npy"
    np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape).flush()
    out = _NpyRegions(path)
    peaks, done = {}, threading.Event()

    def poll():
        while not done.is_set():
            for addr, rss in client.run(_rss).items():
                peaks[addr] = max(peaks.get(addr, 0), rss)
            done.wait(0.1)

    poller = threading.Thread(target=poll)
    sampler = MemorySampler()
    start = time.perf_counter()
    with sampler.sample("run", client=client, measure="process", interval=0.1):
        poller.start()
        try:
            client.compute(da.store(y, out, lock=False, compute=False)).result()
        finally:
            done.set()
            poller.join()
    print(f"out of core: {time.perf_counter() - start:.0f} s, peak RSS per worker "
          f"{ {a: round(v / 2**20) for a, v in peaks.items()} } MiB, limit "
          f"{limit / 2**20:.0f} MiB, input {nbytes / 2**30:.1f} GiB")   # shown with -rP
    assert client.run(os.getpid) == workers_before            # nobody killed or restarted
    assert max(peaks.values()) < limit, peaks
    assert max(v for _, v in sampler.samples["run"]) < 2 * limit
    out = np.load(path, mmap_mode="r")
    for top, left in [(0, 0), (7000, 30000), (shape[0] - 900, 12345)]:
        np.testing.assert_array_equal(out[top:top + 900, left:left + 700],
                                      _spot(x, k, top, left, 900, 700))


@pytest.mark.parametrize("call", [
    lambda x, w: fd.conv2d(x, w),
    lambda x, w: fd.conv_transpose2d(x, w),
    lambda x, w: fd.depthwise_conv2d(x, w[:, :1]),
    lambda x, w: fd.correlate(x[0, 0], w[0, 0]),
    lambda x, w: fd.convolve(x[0, 0], w[0, 0], mode="same"),
], ids=["conv2d", "conv_transpose2d", "depthwise_conv2d", "correlate", "convolve"])
@pytest.mark.parametrize("side", ["input", "weight"])
def test_complex_arrays_raise_instead_of_casting(call, side):
    # The in-memory functions take complex arrays; fastconv.dask computes real
    # ones and must not cast a complex result to a real one.
    x = da.ones((1, 2, 9, 9), chunks=4)
    w = np.ones((2, 2, 3, 3))
    if side == "input":
        x = x.astype(np.complex128)
    else:
        w = w * (1 + 1j)
    with pytest.raises(TypeError, match="real arrays only.*complex128"):
        call(x, w)
    with pytest.raises(TypeError, match="fillvalue has dtype complex"):
        fd.correlate(da.ones((8, 8), chunks=4), np.ones((3, 3)), fillvalue=1j)
