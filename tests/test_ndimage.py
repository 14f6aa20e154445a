"""fastconv.ndimage against scipy.ndimage itself, on a grid of filters, modes,
origins, axes and dtypes.

Bounds (the module's docstring says why):

* float64 and integer outputs: equal to SciPy's, bit for bit (SciPy's
  summation order, every product and sum rounded on its own, SciPy's casts
  between the passes of separable filters);
* float32 outputs: ``|fastconv - scipy| <= 32 eps32 ||w||_1 max|x|`` with
  ``||w||_1`` the sum of the absolute weights of the whole N-D filter;
* complex inputs (real and imaginary parts through the real pipeline):
  ``4 eps ||w||_1 max|x|`` of the real dtype.

Results under 1 and 2 threads are compared bitwise. SciPy's own test module
runs against fastconv.ndimage in test_scipy_acceptance.py; this file is the
grid SciPy's tests do not cover (every mode with every origin and axis,
integer outputs of every separable filter).
"""
import numpy as np
import pytest

import fastconv
from fastconv import ndimage

sp = pytest.importorskip("scipy.ndimage")

MODES = ("reflect", "constant", "nearest", "mirror", "wrap",
         "grid-mirror", "grid-constant", "grid-wrap")
SHAPE_2D = (13, 17)
SHAPE_3D = (7, 9, 11)
W3 = np.array([[1.0, -2.0, 0.5], [3.0, 1.0, -1.0], [0.25, 2.0, -0.5]])
W1 = np.array([0.5, -1.0, 2.0, 0.25, 1.5])

#: name -> (call(module, x, mode), L1 norm of the N-D filter for an input of ndim nd)
FILTERS = {
    "correlate": (lambda m, x, mode: m.correlate(x, W3 if x.ndim == 2 else W3[..., None],
                                                 mode=mode, cval=1.5, origin=(0, 1)[:1] * x.ndim),
                  lambda nd: np.abs(W3).sum()),
    "correlate_origin": (lambda m, x, mode: m.correlate(x, W3 if x.ndim == 2 else W3[:, None],
                                                        mode=mode, origin=(1, -1)[:x.ndim] if x.ndim == 2 else (1, 0, -1)),
                         lambda nd: np.abs(W3).sum()),
    "convolve": (lambda m, x, mode: m.convolve(x, W3, mode=mode, cval=-2.0, origin=(-1, 1),
                                               axes=(0, 1) if x.ndim == 2 else (0, 2)),
                 lambda nd: np.abs(W3).sum()),
    "correlate1d": (lambda m, x, mode: m.correlate1d(x, W1, axis=0, mode=mode, cval=0.5,
                                                     origin=-1),
                    lambda nd: np.abs(W1).sum()),
    "convolve1d": (lambda m, x, mode: m.convolve1d(x, W1, axis=-1, mode=mode, origin=2),
                   lambda nd: np.abs(W1).sum()),
    "gaussian_filter": (lambda m, x, mode: m.gaussian_filter(x, 1.3, mode=mode, cval=0.5),
                        lambda nd: 1.0),
    "gaussian_filter_orders": (lambda m, x, mode: m.gaussian_filter(
        x, (1.0, 0.7, 1.5)[:x.ndim], order=(1, 0, 2)[:x.ndim], mode=mode, truncate=3.0),
        lambda nd: 4.0),
    "gaussian_filter_radius_axes": (lambda m, x, mode: m.gaussian_filter(
        x, 2.0, radius=2, axes=(-1,), mode=mode), lambda nd: 1.0),
    "gaussian_filter1d": (lambda m, x, mode: m.gaussian_filter1d(x, 0.8, axis=0, order=1,
                                                                 mode=mode),
                          lambda nd: 2.0),
    "uniform_filter": (lambda m, x, mode: m.uniform_filter(x, (3, 4, 2)[:x.ndim], mode=mode,
                                                           cval=1.0, origin=(0, 1, -1)[:x.ndim]),
                       lambda nd: 1.0),
    "uniform_filter1d": (lambda m, x, mode: m.uniform_filter1d(x, 6, axis=-1, mode=mode,
                                                               origin=-2),
                         lambda nd: 1.0),
    "sobel": (lambda m, x, mode: m.sobel(x, axis=0, mode=mode, cval=2.0),
              lambda nd: 2.0 * 4 ** (nd - 1)),
    "prewitt": (lambda m, x, mode: m.prewitt(x, axis=-1, mode=mode),
                lambda nd: 2.0 * 3 ** (nd - 1)),
    "laplace": (lambda m, x, mode: m.laplace(x, mode=mode), lambda nd: 4.0 * nd),
    "gaussian_laplace": (lambda m, x, mode: m.gaussian_laplace(x, 1.1, mode=mode),
                         lambda nd: 4.0 * nd),
    "gaussian_gradient_magnitude": (lambda m, x, mode: m.gaussian_gradient_magnitude(
        x, 0.9, mode=mode), lambda nd: 2.0 * nd),
}


@pytest.fixture(autouse=True)
def _one_thread():
    """The grid runs on one thread (tiny arrays); the thread-count independence
    is checked by test_float32_within_bound_and_thread_independent, on arrays
    large enough to be split (``_PARALLEL_MIN_ELEMENTS``)."""
    before = fastconv.get_num_threads()
    fastconv.set_num_threads(1)
    yield
    fastconv.set_num_threads(before)


def _with_threads(n, call, x, mode):
    before = fastconv.get_num_threads()
    fastconv.set_num_threads(n)
    try:
        return call(ndimage, x, mode)
    finally:
        fastconv.set_num_threads(before)


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -100), min(info.max, 200), shape).astype(dtype)
    return (rng.standard_normal(shape) * 10).astype(dtype)


#: Every mode on 2-D arrays, three on 3-D ones.
GRID = [(SHAPE_2D, m) for m in MODES] + [(SHAPE_3D, m) for m in ("mirror", "nearest", "wrap")]


@pytest.mark.parametrize("shape, mode", GRID, ids=[f"{len(s)}d-{m}" for s, m in GRID])
@pytest.mark.parametrize("name", sorted(FILTERS))
def test_float64_is_scipy_bitwise(name, mode, shape):
    call, _ = FILTERS[name]
    x = _data(shape, np.float64)
    expected = call(sp, x, mode)
    got = call(ndimage, x, mode)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("mode", ["reflect", "constant", "grid-wrap"])
@pytest.mark.parametrize("name", sorted(FILTERS))
@pytest.mark.parametrize("shape", [(181, 191), (33, 31, 37)], ids=["2d", "3d"])
def test_float32_within_bound_and_thread_independent(name, mode, shape):
    call, l1 = FILTERS[name]
    x = _data(shape, np.float32, seed=1)
    expected = call(sp, x, mode)
    one, two = _with_threads(1, call, x, mode), _with_threads(2, call, x, mode)
    assert one.dtype == expected.dtype == np.float32
    np.testing.assert_array_equal(one, two)
    bound = 32 * np.finfo(np.float32).eps * l1(len(shape)) * np.abs(x).max()
    err = np.abs(one.astype(np.float64) - expected).max()
    assert err <= bound, f"{name} {mode}: {err:.3g} > {bound:.3g}"


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.uint16])
@pytest.mark.parametrize("name", ["gaussian_filter", "gaussian_filter_orders",
                                  "uniform_filter", "uniform_filter1d", "sobel", "prewitt",
                                  "laplace", "correlate", "convolve1d", "gaussian_laplace"])
@pytest.mark.parametrize("mode", ["reflect", "constant", "wrap", "grid-mirror"])
def test_integer_outputs_are_scipy(name, dtype, mode):
    """Integer in, integer out: SciPy's per-pass casts (truncation, wrap-around)."""
    call, _ = FILTERS[name]
    x = _data(SHAPE_2D, dtype, seed=2)
    expected = call(sp, x, mode)
    got = call(ndimage, x, mode)
    assert got.dtype == expected.dtype == dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("output", [np.float32, np.int8, np.uint16, np.float64, "array"])
def test_output_argument(output):
    x = _data(SHAPE_2D, np.float64, seed=3)
    if output == "array":
        mine, theirs = np.empty(SHAPE_2D, np.int32), np.empty(SHAPE_2D, np.int32)
    else:
        mine = theirs = output
    got = ndimage.gaussian_filter(x, 1.5, output=mine)
    expected = sp.gaussian_filter(x, 1.5, output=theirs)
    assert got.dtype == expected.dtype
    if output == "array":
        assert got is mine
    if np.dtype(got.dtype) == np.float32:
        np.testing.assert_allclose(got, expected, rtol=0, atol=32 * 1.2e-7 * 40)
    else:
        np.testing.assert_array_equal(got, expected)


def test_per_axis_modes():
    x = _data(SHAPE_2D, np.float64, seed=4)
    for fn, args in (("gaussian_filter", (1.0,)), ("uniform_filter", (3,)), ("sobel", ()),
                     ("laplace", ())):
        got = getattr(ndimage, fn)(x, *args, mode=["wrap", "constant"], cval=1.0)
        expected = getattr(sp, fn)(x, *args, mode=["wrap", "constant"], cval=1.0)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("call", [
    lambda m, x, w: m.correlate(x, w, mode="wrap"),
    lambda m, x, w: m.convolve(x, w, mode="constant", cval=1.0),
    lambda m, x, w: m.correlate1d(x, w[1], axis=0, mode="mirror"),
    lambda m, x, w: m.convolve1d(x, w[0], mode="nearest", origin=1),
    lambda m, x, w: m.gaussian_filter(x, 1.2, mode="reflect"),
    lambda m, x, w: m.uniform_filter(x, 3, mode="grid-wrap"),
    lambda m, x, w: m.sobel(x, axis=0),
], ids=["correlate", "convolve", "correlate1d", "convolve1d", "gaussian", "uniform", "sobel"])
@pytest.mark.parametrize("complex_weights", [False, True], ids=["realw", "complexw"])
def test_complex_against_scipy(call, dtype, complex_weights):
    """Complex inputs and weights (correlations conjugate the weights, as SciPy)."""
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(SHAPE_2D) + 1j * rng.standard_normal(SHAPE_2D)).astype(dtype)
    w = rng.standard_normal((3, 3))
    if complex_weights:
        w = w + 1j * rng.standard_normal((3, 3))
    expected = call(sp, x, w)
    got = call(ndimage, x, w)
    assert got.dtype == expected.dtype
    eps = np.finfo(np.float32 if dtype == np.complex64 else np.float64).eps
    bound = 4 * eps * 2 * np.abs(w).sum() * np.abs(x).max() * (8 if dtype == np.complex64 else 1)
    assert np.abs(got - expected).max() <= bound


@pytest.mark.parametrize("call", [
    lambda m, x: m.correlate(x, np.ones((3, 3)), mode="bogus"),
    lambda m, x: m.gaussian_filter(x, (1.0, 2.0, 3.0)),
    lambda m, x: m.uniform_filter(x, 3, origin=2),
    lambda m, x: m.correlate1d(x, [], axis=0),
    lambda m, x: m.correlate1d(x, [1.0, 2.0], axis=2),
    lambda m, x: m.convolve(x, np.ones((3, 3, 3))),
    lambda m, x: m.gaussian_filter1d(x, 1.0, order=-1),
    lambda m, x: m.gaussian_filter(x, 1.0, mode="constant", cval=1j),
    lambda m, x: m.sobel(x, output=np.empty((2, 2))),
    lambda m, x: m.gaussian_filter(x, 1.0, axes=(0, 0)),
], ids=["mode", "sigma-len", "origin", "empty-weights", "axis", "weights-ndim", "order",
        "complex-cval", "output-shape", "repeated-axes"])
def test_errors_are_scipys(call):
    """The exception SciPy raises, of the same type."""
    x = _data(SHAPE_2D, np.float64)
    with pytest.raises(Exception) as theirs:
        call(sp, x)
    with pytest.raises(theirs.type):
        call(ndimage, x)


def test_input_is_not_modified():
    x = _data(SHAPE_3D, np.float32)
    before = x.copy()
    for name, (call, _) in FILTERS.items():
        call(ndimage, x, "reflect")
        np.testing.assert_array_equal(x, before, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weights", [
    np.full(3, 1 / 3), [0.25, 0.5, 0.25], [1.0, 0.0, -1.0], [0.1, 0.7, 0.3],
    np.full(5, 0.2), [0.05, 0.2, 0.5, 0.2, 0.05], np.full(7, 1 / 7),
])
def test_a_crop_gets_the_bits_of_the_whole(weights, dtype):
    # An element's 1-D sum must not depend on where it falls in its line's
    # vector body, head or tail: along every axis of a 3-D array, a crop of
    # the other axes gets the bits of the same region of the whole array
    # (a 3-tap symmetric float32 kernel differed by an ulp when the head and
    # tail elements were formed by separately compiled scalar code).
    x = np.random.default_rng(4).standard_normal((9, 10, 37)).astype(dtype)
    w = np.asarray(weights)
    for axis in range(3):
        whole = ndimage.correlate1d(x, w, axis=axis, mode="reflect")
        for c0, c1 in ((1, None), (3, -2), (5, None), (0, -7)):
            crop = [slice(None)] * 3
            for other in range(3):
                if other != axis:
                    crop[other] = slice(c0, c1)
            crop = tuple(crop)
            np.testing.assert_array_equal(
                ndimage.correlate1d(x[crop], w, axis=axis, mode="reflect"), whole[crop],
                err_msg=f"axis {axis}, crop {c0}:{c1}")
