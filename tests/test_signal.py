"""Tests of fastconv.correlate / fastconv.convolve.

Oracles: fastconv.reference (float64, from the definition), and SciPy
(scipy.signal.correlate/convolve, convolve2d/correlate2d boundaries,
scipy.ndimage.correlate modes) as independent implementations.
"""
import numpy as np
import pytest

import fastconv
from fastconv import reference as ref
from fastconv import _signal

from conftest import FLOAT_DTYPES, assert_conv_close

MODES = ("full", "same", "valid")
BOUNDARIES = ("fill", "reflect", "symmetric", "mirror", "nearest", "wrap")
ALGOS = ("direct", "fft", "auto")
SHAPES = [((97,), (5,)), ((101,), (8,)), ((6,), (13,)), ((31, 29), (3, 4)),
          ((17, 23), (5, 5)), ((4, 5), (7, 6)), ((9, 8, 7), (2, 3, 4))]
# The FFT's error bound relative to max|result| (the targets).
FFT_REL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def _check(actual, expected, dtype, taps, algorithm):
    if algorithm == "fft":
        dtype = np.dtype(dtype)
        assert actual.dtype == dtype and actual.shape == expected.shape
        scale = max(np.max(np.abs(expected)), 1.0)
        assert np.max(np.abs(actual - expected)) <= FFT_REL[dtype] * scale
    else:
        assert_conv_close(actual, expected, dtype, taps)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("algorithm", ALGOS)
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_against_reference_every_mode_and_boundary(rng, shapes, algorithm, dtype):
    a = rng.standard_normal(shapes[0]).astype(dtype)
    b = rng.standard_normal(shapes[1]).astype(dtype)
    for mode in MODES:
        for boundary in BOUNDARIES:
            for fn, rfn in ((fastconv.correlate, ref.correlate),
                            (fastconv.convolve, ref.convolve)):
                got = fn(a, b, mode, boundary=boundary, fillvalue=1.5, algorithm=algorithm)
                want = rfn(a, b, mode, boundary, 1.5)
                _check(got, want, dtype, b.size, algorithm)


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_against_scipy_signal(rng, shapes):
    ss = pytest.importorskip("scipy.signal")
    a = rng.standard_normal(shapes[0])
    b = rng.standard_normal(shapes[1])
    for mode in MODES:
        for algorithm in ALGOS:
            np.testing.assert_allclose(fastconv.correlate(a, b, mode, algorithm=algorithm),
                                       ss.correlate(a, b, mode), rtol=1e-10, atol=1e-10)
            np.testing.assert_allclose(fastconv.convolve(a, b, mode, algorithm=algorithm),
                                       ss.convolve(a, b, mode), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kshape", [(3, 3), (5, 3), (4, 6)])
def test_against_scipy_2d_boundaries(rng, kshape):
    ss = pytest.importorskip("scipy.signal")
    a = rng.standard_normal((23, 19))
    b = rng.standard_normal(kshape)
    for mode in ("full", "same"):
        for ours, theirs in (("fill", "fill"), ("symmetric", "symm"), ("wrap", "wrap")):
            np.testing.assert_allclose(
                fastconv.convolve(a, b, mode, boundary=ours, fillvalue=-2.0),
                ss.convolve2d(a, b, mode, boundary=theirs, fillvalue=-2.0), atol=1e-12)
            if all(k % 2 for k in kshape) or mode == "full":
                # correlate2d centres 'same' one sample later for even kernels.
                np.testing.assert_allclose(
                    fastconv.correlate(a, b, mode, boundary=ours, fillvalue=-2.0),
                    ss.correlate2d(a, b, mode, boundary=theirs, fillvalue=-2.0), atol=1e-12)


@pytest.mark.parametrize("boundary", ["reflect", "mirror", "nearest", "wrap"])
@pytest.mark.parametrize("shapes", [((97,), (7,)), ((33, 41), (5, 3)), ((7, 9, 8), (3, 3, 3))],
                         ids=str)
def test_against_scipy_ndimage(rng, shapes, boundary):
    ndi = pytest.importorskip("scipy.ndimage")
    a = rng.standard_normal(shapes[0])
    b = rng.standard_normal(shapes[1])
    np.testing.assert_allclose(fastconv.correlate(a, b, "same", boundary=boundary),
                               ndi.correlate(a, b, mode=boundary), atol=1e-12)
    np.testing.assert_allclose(fastconv.convolve(a, b, "same", boundary=boundary),
                               ndi.convolve(a, b, mode=boundary), atol=1e-12)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_fft_error_long_signal(rng, dtype):
    """The blocked (overlap-save) FFT on a long signal, within the error target."""
    a = rng.standard_normal(20011).astype(dtype)
    b = rng.standard_normal(101).astype(dtype)
    for mode in MODES:
        got = fastconv.convolve(a, b, mode, algorithm="fft")
        want = np.convolve(a.astype(np.float64), b.astype(np.float64), mode)
        assert got.dtype == dtype
        assert np.max(np.abs(got - want)) <= FFT_REL[np.dtype(dtype)] * np.max(np.abs(want))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_fft_error_blocked_image(rng, dtype):
    """A 2-D FFT cut into blocks along one axis (and whole along the other),
    and along both, within the error target, with a partial last block."""
    k = rng.standard_normal((5, 3)).astype(dtype)
    for shape in [(700, 37), (330, 333)]:
        plan = _signal.fft_blocks([s + 4 for s in shape], k.shape)
        assert any(b < s for s, (_, _, b) in zip(shape, plan))
        img = rng.standard_normal(shape).astype(dtype)
        for mode in MODES:
            got = fastconv.correlate(img, k, mode, algorithm="fft")
            want = ref.correlate(img.astype(np.float64), k.astype(np.float64), mode)
            assert got.shape == want.shape and got.dtype == dtype
            assert np.max(np.abs(got - want)) <= FFT_REL[np.dtype(dtype)] * np.max(np.abs(want))


@pytest.mark.parametrize("backend", ["numpy", "scipy"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_fft_backends(rng, dtype, backend, monkeypatch):
    """Both FFT backends (scipy.fft when installed, numpy.fft otherwise), on the
    blocked 1-D path (with a non-contiguous output) and the n-D path."""
    if backend == "numpy":
        monkeypatch.setattr(_signal, "fft_backend", lambda: (np.fft, True))
    else:
        pytest.importorskip("scipy.fft")
    a = rng.standard_normal(9001).astype(dtype)
    b = rng.standard_normal(61).astype(dtype)
    want = np.convolve(a.astype(np.float64), b.astype(np.float64), "full")
    got = fastconv.convolve(a, b, "full", algorithm="fft")
    assert got.dtype == dtype
    assert np.max(np.abs(got - want)) <= FFT_REL[np.dtype(dtype)] * np.max(np.abs(want))
    out = np.zeros(2 * want.size, dtype)[::2]
    assert fastconv.convolve(a, b, "full", algorithm="fft", out=out) is out
    np.testing.assert_array_equal(out, got)
    img = rng.standard_normal((37, 45)).astype(dtype)
    k = rng.standard_normal((9, 7)).astype(dtype)
    want = ref.correlate(img.astype(np.float64), k.astype(np.float64), "same")
    got = fastconv.correlate(img, k, "same", algorithm="fft")
    assert np.max(np.abs(got - want)) <= FFT_REL[np.dtype(dtype)] * np.max(np.abs(want))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_image_sizes_and_kernels(rng, dtype):
    """Image-like sizes that do not divide the blocking, every kernel of the targets."""
    a = rng.standard_normal((101, 127)).astype(dtype)
    for k in (1, 3, 5, 7, 11):
        b = rng.standard_normal((k, k)).astype(dtype)
        for mode in MODES:
            got = fastconv.correlate(a, b, mode, algorithm="direct")
            assert_conv_close(got, ref.correlate(a, b, mode), dtype, b.size)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_rank1_kernels_run_as_two_passes(rng, dtype, monkeypatch):
    g = np.exp(-0.5 * (np.arange(-7, 8) / 2.5) ** 2)
    kernel = np.outer(g, g).astype(dtype)
    assert _signal._rank1(kernel) is not None
    assert _signal._rank1(rng.standard_normal((5, 5))) is None
    assert _signal.choose_correlate_algorithm(np.zeros((512, 512), dtype), kernel, (512, 512))[0] == "separable"
    a = rng.standard_normal((67, 71)).astype(dtype)
    for boundary in ("fill", "reflect", "wrap"):
        got = fastconv.correlate(a, kernel, "same", boundary=boundary, fillvalue=0.5)
        assert_conv_close(got, ref.correlate(a, kernel, "same", boundary, 0.5), dtype,
                          kernel.size)
    # Forcing the separable path on a small problem gives the same result.
    monkeypatch.setattr(_signal, "choose_correlate_algorithm",
                        lambda x, w, sizes, costs=None: ("separable", _signal._rank1(w)))
    got = fastconv.correlate(a, kernel, "full")
    assert_conv_close(got, ref.correlate(a, kernel, "full"), dtype, kernel.size)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_channels_last(rng, dtype):
    a = rng.standard_normal((19, 23, 3)).astype(dtype)
    b = rng.standard_normal((3, 5)).astype(dtype)
    for mode in MODES:
        got = fastconv.correlate(a, b, mode, boundary="nearest" if mode != "valid" else "fill")
        want = np.stack([ref.correlate(a[..., c], b, mode,
                                       "nearest" if mode != "valid" else "fill")
                         for c in range(3)], axis=-1)
        assert_conv_close(got, want, dtype, b.size)
        assert_conv_close(got, ref.correlate(a, b, mode, "nearest" if mode != "valid"
                                             else "fill"), dtype, b.size)


def test_dtypes_and_inputs_untouched(rng):
    a = rng.integers(-3, 4, size=(12, 14))
    b = np.ones((3, 3), bool)
    a_copy = a.copy()
    out = fastconv.convolve(a, b)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(a, a_copy)
    assert fastconv.correlate(a.astype(np.float16), b.astype(np.float32)).dtype == np.float32
    assert fastconv.correlate(a.astype(np.float32), b.astype(np.float64)).dtype == np.float64
    view = rng.standard_normal((30, 40))[::2, ::3]      # non-contiguous input
    assert_conv_close(fastconv.correlate(view, b, "same"), ref.correlate(view, b, "same"),
                      np.float64, 9)


def test_out_argument(rng):
    a = rng.standard_normal((20, 21)).astype(np.float32)
    b = rng.standard_normal((3, 3)).astype(np.float32)
    out = np.empty((20, 21), np.float32)
    res = fastconv.correlate(a, b, "same", out=out)
    assert res is out
    np.testing.assert_array_equal(out, fastconv.correlate(a, b, "same"))
    big = np.empty((20, 42), np.float32)
    res = fastconv.correlate(a, b, "same", out=big[:, ::2])      # non-contiguous out
    np.testing.assert_array_equal(big[:, ::2], out)
    with pytest.raises(ValueError, match="out has shape"):
        fastconv.correlate(a, b, "full", out=out)
    with pytest.raises(ValueError, match="out has dtype"):
        fastconv.correlate(a, b, "same", out=out.astype(np.float64))
    with pytest.raises(ValueError, match="overlaps"):
        fastconv.correlate(out, b, "same", out=out)


def test_threads_bitwise_equal(rng, threads):
    a = rng.standard_normal((211, 307)).astype(np.float32)
    s = rng.standard_normal(30011).astype(np.float32)
    b = rng.standard_normal((5, 7)).astype(np.float32)
    k = rng.standard_normal(33).astype(np.float32)
    results = []
    for threads in (1, 2):
        fastconv.set_num_threads(threads)
        results.append((fastconv.correlate(a, b, "same", algorithm="direct",
                                           boundary="reflect"),
                        fastconv.convolve(s, k, algorithm="direct")))
    for x, y in zip(*results):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_winograd_2d(rng, dtype):
    a = rng.standard_normal((37, 41)).astype(dtype)
    b = rng.standard_normal((3, 3)).astype(dtype)
    for mode, boundary in (("full", "wrap"), ("same", "fill"), ("valid", "fill")):
        got = fastconv.correlate(a, b, mode, boundary=boundary, algorithm="winograd")
        want = ref.correlate(a, b, mode, boundary)
        assert got.dtype == dtype
        assert np.max(np.abs(got - want)) <= FFT_REL[np.dtype(dtype)] * np.max(np.abs(want))
    with pytest.raises(ValueError, match="2-D"):
        fastconv.correlate(a[0], b[0], algorithm="winograd")


def test_hand_computed():
    np.testing.assert_array_equal(fastconv.correlate([1.0, 2.0, 3.0], [0.0, 1.0, 0.5]),
                                  [0.5, 2.0, 3.5, 3.0, 0.0])
    np.testing.assert_array_equal(fastconv.convolve([1.0, 2.0, 3.0], [0.0, 1.0, 0.5]),
                                  [0.0, 1.0, 2.5, 4.0, 1.5])
    np.testing.assert_array_equal(
        fastconv.correlate([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0], "same", boundary="mirror"),
        [5.0, 6.0, 9.0, 10.0])
    np.testing.assert_array_equal(
        fastconv.correlate([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0], "same", boundary="reflect"),
        [4.0, 6.0, 9.0, 11.0])


def test_errors():
    a, b = np.ones((5, 5)), np.ones((3, 3))
    with pytest.raises(ValueError, match="mode='middle'"):
        fastconv.correlate(a, b, "middle")
    with pytest.raises(ValueError, match="boundary='zero'"):
        fastconv.correlate(a, b, boundary="zero")
    with pytest.raises(ValueError, match="algorithm='gemm'"):
        fastconv.convolve(a, b, algorithm="gemm")
    with pytest.raises(ValueError, match=r"\(5, 5\); use one of 'auto', 'direct', 'fft'"):
        fastconv.correlate(a, np.ones((5, 5)), algorithm="winograd")
    with pytest.raises(TypeError, match="fillvalue"):
        fastconv.correlate(a, b, fillvalue=1j)
    with pytest.raises(TypeError, match="in1"):
        fastconv.correlate(a.astype(object), b)
    with pytest.raises(TypeError, match="in2"):
        fastconv.correlate(a, np.array([["x"]]))
    with pytest.raises(ValueError, match="1 to 3 dims"):
        fastconv.correlate(np.ones((2, 2, 2, 2)), np.ones((1, 1, 1, 1)))
    with pytest.raises(ValueError, match="in1 must have"):
        fastconv.correlate(np.ones(5), b)
    with pytest.raises(ValueError, match="empty"):
        fastconv.correlate(np.ones((0, 3)), b)
    with pytest.raises(ValueError, match="valid"):
        fastconv.correlate(np.ones((5, 2)), np.ones((2, 5)), "valid")
