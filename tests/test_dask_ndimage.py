"""fastconv.dask.ndimage: the ndimage filters on Dask arrays.

Every result is compared bitwise (``np.array_equal``) with the in-memory
:mod:`fastconv.ndimage` function on the whole array, for chunkings that are
irregular, of size 1, smaller than the filter's reach, and axes shorter than
it, in every boundary mode; on the synchronous scheduler. The one exception
is the uniform filters in float64 (SciPy's running sum carries its rounding
along the line, so a block that starts mid-line ends a few ulp away): those
are compared within a few ulp, and to SciPy's own result as well.
"""
import numpy as np
import pytest

import fastconv.ndimage as nd

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
import fastconv.dask.ndimage as dn  # noqa: E402  (only with dask installed)

MODES = ("reflect", "constant", "nearest", "mirror", "wrap", "grid-mirror", "grid-constant",
         "grid-wrap")
CHUNKINGS = {
    "irregular": ((5, 1, 9, 8), (3, 11, 2, 7)),
    "ones": ((1,) * 23, 23),
    "small": (4, 5),
}


def _image(dtype=np.float64, shape=(23, 23), seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 200, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _same(lazy, eager):
    with dask.config.set(scheduler="synchronous"):
        got = lazy.compute()
    assert got.dtype == eager.dtype
    assert got.shape == eager.shape
    assert np.array_equal(got, eager), np.abs(got - eager).max()


FILTERS = {
    "correlate": (lambda m, x: dn.correlate(x, W3x4, mode=m, cval=1.5, origin=(1, -1)),
                  lambda m, x: nd.correlate(x, W3x4, mode=m, cval=1.5, origin=(1, -1))),
    "convolve": (lambda m, x: dn.convolve(x, W3x4, mode=m, origin=(0, 1)),
                 lambda m, x: nd.convolve(x, W3x4, mode=m, origin=(0, 1))),
    "correlate1d": (lambda m, x: dn.correlate1d(x, W6, axis=0, mode=m, origin=-2),
                    lambda m, x: nd.correlate1d(x, W6, axis=0, mode=m, origin=-2)),
    "convolve1d": (lambda m, x: dn.convolve1d(x, W6, mode=m, cval=-3.0),
                   lambda m, x: nd.convolve1d(x, W6, mode=m, cval=-3.0)),
    "gaussian": (lambda m, x: dn.gaussian_filter(x, (2.0, 1.2), order=(1, 0), mode=m),
                 lambda m, x: nd.gaussian_filter(x, (2.0, 1.2), order=(1, 0), mode=m)),
    "gaussian_radius": (lambda m, x: dn.gaussian_filter(x, 3.0, radius=(2, 9), mode=m),
                        lambda m, x: nd.gaussian_filter(x, 3.0, radius=(2, 9), mode=m)),
    "gaussian1d": (lambda m, x: dn.gaussian_filter1d(x, 2.5, axis=0, order=2, mode=m),
                   lambda m, x: nd.gaussian_filter1d(x, 2.5, axis=0, order=2, mode=m)),
    "sobel": (lambda m, x: dn.sobel(x, axis=0, mode=m, cval=2.0),
              lambda m, x: nd.sobel(x, axis=0, mode=m, cval=2.0)),
    "prewitt": (lambda m, x: dn.prewitt(x, mode=m), lambda m, x: nd.prewitt(x, mode=m)),
    "laplace": (lambda m, x: dn.laplace(x, mode=m), lambda m, x: nd.laplace(x, mode=m)),
    "gaussian_laplace": (lambda m, x: dn.gaussian_laplace(x, 1.5, mode=m, truncate=3.0),
                         lambda m, x: nd.gaussian_laplace(x, 1.5, mode=m, truncate=3.0)),
    "gradient_magnitude": (lambda m, x: dn.gaussian_gradient_magnitude(x, 1.0, mode=m),
                           lambda m, x: nd.gaussian_gradient_magnitude(x, 1.0, mode=m)),
}
W3x4 = np.arange(12.0).reshape(3, 4) - 5.5
W6 = np.array([0.5, -1.0, 2.0, 0.25, 3.0, -0.75])


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_filters_bitwise_every_mode(name):
    lazy, eager = FILTERS[name]
    x = _image()
    xd = da.from_array(x, chunks=CHUNKINGS["irregular"])
    for mode in MODES:
        _same(lazy(mode, xd), eager(mode, x))


@pytest.mark.parametrize("chunking", ["ones", "small"])
@pytest.mark.parametrize("name", ["correlate", "convolve1d", "gaussian_radius", "sobel"])
def test_filters_bitwise_small_chunks(name, chunking):
    # Chunks shorter than the reach: merged with their neighbours first.
    lazy, eager = FILTERS[name]
    x = _image()
    xd = da.from_array(x, chunks=CHUNKINGS[chunking])
    for mode in ("mirror", "wrap", "constant"):
        _same(lazy(mode, xd), eager(mode, x))


@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.int16])
@pytest.mark.parametrize("name", ["correlate", "gaussian", "sobel", "laplace"])
def test_filters_bitwise_dtypes(name, dtype):
    lazy, eager = FILTERS[name]
    x = _image(dtype)
    xd = da.from_array(x, chunks=((5, 1, 9, 8), (3, 11, 2, 7)))
    for mode in ("reflect", "wrap"):
        _same(lazy(mode, xd), eager(mode, x))


def test_wrap_is_exact_when_chunked():
    # A block at the array's start takes its wrap extension from the far end.
    x = np.zeros((40,))
    x[-3:] = [1.0, 2.0, 3.0]
    xd = da.from_array(x, chunks=10)
    got = dn.correlate1d(xd, np.ones(7), mode="wrap").compute()
    assert np.array_equal(got, nd.correlate1d(x, np.ones(7), mode="wrap"))
    assert got[0] == 6.0 and got[2] == 3.0 and got[3] == 0.0


@pytest.mark.parametrize("mode", MODES)
def test_axis_shorter_than_the_reach(mode):
    # Sigma 6 reaches 24 pixels: the 5-long axis is computed in one piece.
    x = _image(shape=(5, 64), seed=1)
    xd = da.from_array(x, chunks=(2, 9))
    y = dn.gaussian_filter(xd, 6.0, mode=mode)
    assert y.chunks[0] == (5,)
    _same(y, nd.gaussian_filter(x, 6.0, mode=mode))


def test_three_d_and_axes():
    x = _image(np.float32, shape=(9, 10, 11), seed=2)
    xd = da.from_array(x, chunks=(4, 3, 5))
    _same(dn.gaussian_filter(xd, 1.5, axes=(0, 2)), nd.gaussian_filter(x, 1.5, axes=(0, 2)))
    _same(dn.correlate(xd, W3x4, axes=(2, 0)), nd.correlate(x, W3x4, axes=(2, 0)))
    _same(dn.laplace(xd, axes=(1,), mode="wrap"), nd.laplace(x, axes=(1,), mode="wrap"))
    _same(dn.sobel(xd, axis=1), nd.sobel(x, axis=1))
    # The axes the filter does not touch keep their chunks (short ones of
    # the filtered axis are merged: 1 < reach + 1).
    y = dn.gaussian_filter1d(xd, 1.0, axis=2)
    assert y.chunks[:2] == xd.chunks[:2] and y.chunks[2] == (5, 6)
    _same(y, nd.gaussian_filter1d(x, 1.0, axis=2))


def test_complex_input():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((20, 21)) + 1j * rng.standard_normal((20, 21))
    w = rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))
    xd = da.from_array(x, chunks=7)
    _same(dn.correlate(xd, w, mode="mirror"), nd.correlate(x, w, mode="mirror"))


@pytest.mark.parametrize("mode", ["reflect", "wrap", "constant"])
def test_uniform_filters(mode):
    x32 = _image(np.float32)
    xd32 = da.from_array(x32, chunks=((5, 1, 9, 8), (3, 11, 2, 7)))
    _same(dn.uniform_filter(xd32, (4, 5), mode=mode, origin=(1, -2)),
          nd.uniform_filter(x32, (4, 5), mode=mode, origin=(1, -2)))
    xi = _image(np.uint8)
    _same(dn.uniform_filter1d(da.from_array(xi, chunks=6), 5, axis=0, mode=mode),
          nd.uniform_filter1d(xi, 5, axis=0, mode=mode))
    # float64: the running sum's rounding depends on where a line starts.
    sp = pytest.importorskip("scipy.ndimage")
    x = _image()
    xd = da.from_array(x, chunks=((5, 1, 9, 8), (3, 11, 2, 7)))
    got = dn.uniform_filter(xd, 7, mode=mode).compute()
    for expected in (nd.uniform_filter(x, 7, mode=mode), sp.uniform_filter(x, 7, mode=mode)):
        np.testing.assert_allclose(got, expected, rtol=0, atol=16 * np.spacing(np.abs(x).max()))


def test_lazy_shape_dtype_and_chunks():
    x = da.zeros((300, 200), chunks=(100, 64), dtype=np.int16)
    y = dn.sobel(x)
    assert y.shape == x.shape and y.chunks == x.chunks and y.dtype == np.int16
    empty = dn.gaussian_filter(da.zeros((0, 5), chunks=2), 1.0, mode="wrap")
    assert empty.chunks == ((0,), (2, 2, 1))
    _same(empty, nd.gaussian_filter(np.zeros((0, 5)), 1.0, mode="wrap"))
    assert dn.gaussian_filter(x.astype(np.float32), 2).dtype == np.float32


def test_errors_are_the_in_memory_ones():
    xd = da.zeros((10, 10), chunks=5)
    with pytest.raises(RuntimeError, match="filter weights array has incorrect shape|weights"):
        dn.correlate(xd, np.ones(3))
    with pytest.raises(RuntimeError, match="boundary mode not supported"):
        dn.gaussian_filter(xd, 1.0, mode="bogus")
    with pytest.raises((ValueError, RuntimeError), match="origin|invalid"):
        dn.uniform_filter(xd, 3, origin=5)


def test_num_threads_reaches_the_blocks(monkeypatch):
    from fastconv.dask import _workers
    seen = []
    original = _workers.task_threads

    def spy(num_threads=None):
        seen.append(num_threads)
        return original(num_threads)

    monkeypatch.setattr(_workers, "task_threads", spy)
    x = _image()
    y = dn.gaussian_filter(da.from_array(x, chunks=10), 1.0, num_threads=1)
    _same(y, nd.gaussian_filter(x, 1.0))
    assert seen and all(n == 1 for n in seen)


@pytest.mark.parametrize("mode", ["wrap", "mirror", ("wrap", "nearest", "grid-constant")])
def test_three_d_irregular_chunks_origin_and_per_axis_modes(mode):
    # Irregular chunks with size-1 ones (merged), asymmetric reach (origin),
    # periodic and non-periodic axes side by side.
    chunks = ((2, 1, 6), (4, 1, 5), (5, 1, 6))
    xi = _image(np.uint8, shape=(9, 10, 12), seed=4)
    _same(dn.uniform_filter(da.from_array(xi, chunks=chunks), (3, 4, 5), mode=mode,
                            origin=(1, -2, 2)),
          nd.uniform_filter(xi, (3, 4, 5), mode=mode, origin=(1, -2, 2)))
    x = _image(np.float32, shape=(9, 10, 12), seed=4)
    xd = da.from_array(x, chunks=chunks)
    # float32 3-tap symmetric passes along the first axis (their head and
    # tail elements are formed as the vector body forms them)
    _same(dn.uniform_filter(xd, (3, 4, 5), mode=mode, origin=(1, -2, 2)),
          nd.uniform_filter(x, (3, 4, 5), mode=mode, origin=(1, -2, 2)))
    _same(dn.gaussian_filter(xd, (1.0, 0.0, 2.0), order=(0, 0, 1), mode=mode),
          nd.gaussian_filter(x, (1.0, 0.0, 2.0), order=(0, 0, 1), mode=mode))
    if isinstance(mode, str):
        w = np.random.default_rng(5).standard_normal((3, 2, 4)).astype(np.float32)
        _same(dn.convolve(xd, w, mode=mode, origin=(1, 0, -1)),
              nd.convolve(x, w, mode=mode, origin=(1, 0, -1)))
        _same(dn.correlate1d(xd, W6, axis=1, mode=mode, origin=2),
              nd.correlate1d(x, W6, axis=1, mode=mode, origin=2))


def test_wrap_and_short_axis_side_by_side():
    # Axis 0 (4 long) is shorter than the reach and one piece; axis 1 takes
    # its wrap extension from the far end, with an asymmetric kernel.
    x = _image(shape=(4, 30), seed=6)
    xd = da.from_array(x, chunks=(1, (7, 1, 1, 13, 8)))
    w = np.arange(1.0, 64.0).reshape(9, 7)
    y = dn.correlate(xd, w, mode="wrap", origin=(0, 3))
    assert y.chunks == ((4,), (7, 15, 8))
    _same(y, nd.correlate(x, w, mode="wrap", origin=(0, 3)))


def test_axis_plans_without_padding_and_periodic():
    from fastconv.dask import _geometry as geo
    # reach (2, 1): output [a, b) reads [a - 2, b + 1), cut at the array's ends
    plan = geo.correlate_axis((4, 3, 5), 4, 1, 12, "none", bounds=(0, 4, 7, 12))
    assert plan.chunks == (4, 3, 5) and plan.local == ((2, 0), (0, 0), (0, 1))
    runs = [[(r.chunk, r.length, r.whole) for r in block] for block in plan.runs]
    assert runs == [[(0, 4, True), (1, 1, False)],
                    [(0, 2, False), (1, 3, True), (2, 1, False)],
                    [(1, 2, False), (2, 5, True)]]
    # periodic: the first block's extension is the far end of the array
    plan = geo.correlate_axis((4, 3, 5), 4, 1, 12, "wrap", bounds=(0, 4, 7, 12))
    first = plan.runs[0]
    assert [(r.chunk, r.length) for r in first] == [(2, 2), (0, 4), (1, 1)]
    assert first[0].index == slice(3, 5)


def test_graph_is_fastconv_dask_s_halo_graph():
    # One layer of fastconv.dask's graph, not map_overlap's (overlap, trim,
    # rechunk, periodic, getitem/concatenate layers): each block reads its
    # chunks used whole by key and its neighbours' edges from one halos task
    # per input chunk; the same call gives the same graph.
    from fastconv.dask._blocks import halos, run_block
    x = da.from_array(_image(), chunks=(8, (5, 1, 9, 8)))
    y = dn.gaussian_filter(x, 1.0, mode="wrap")
    assert y.chunks == ((8, 8, 7), (5, 10, 8))      # the 1-wide chunk merged, reach 4
    layers = y.__dask_graph__().layers
    assert set(layers) - set(x.__dask_graph__().layers) == {y.name}
    assert not any(name.startswith(("overlap", "trim", "rechunk", "periodic", "getitem",
                                    "concatenate", "_trim")) for name in layers)
    graph = layers[y.name]
    blocks = {k: v for k, v in graph.items() if k[0] == y.name}
    cuts = [v for k, v in graph.items() if "-halo-" in k[0]]
    assert len(blocks) == 9 and all(v[0] is run_block for v in blocks.values())
    assert 0 < len(cuts) <= x.npartitions and all(v[0] is halos for v in cuts)
    assert (x.name, 1, 1) in blocks[(y.name, 1, 1)][3]     # its own chunk, by key
    assert all(v[4] is None for v in blocks.values())    # no weights: no key to fetch
    w = dn.correlate(x, np.ones((3, 3)))
    assert {v[4] for k, v in w.__dask_graph__().layers[w.name].items() if k[0] == w.name} == {
        (w.name.replace("correlate-", "correlate-weight-", 1), 0)}
    assert dn.gaussian_filter(x, 1.0, mode="wrap").name == y.name
    assert dn.gaussian_filter(x, 1.0, mode="reflect").name != y.name


def test_bench_dask_rows_by_layers():
    import argparse
    from fastconv import _bench_dask
    pick = lambda layers: [_bench_dask._name(r) for r in _bench_dask._selected(
        argparse.Namespace(quick=True, layers=layers))]
    assert pick(["ndimage"]) == [f"ndimage.{f}({a}) 4096x4096 chunks 1024^2"
                                 for f, a in _bench_dask.NDIMAGE_ROWS]
    assert len(pick(None)) == len(_bench_dask._rows(True)) > 3
    assert pick(["no such row"]) == []
