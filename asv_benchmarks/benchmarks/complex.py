"""asv benchmarks of complex inputs: ``fastconv.conv2d`` and ``fastconv.correlate``.

Complex convolutions are composed from real ones (``fastconv._complex``):
``Conv2d`` times a complex conv2d layer and ``Correlate`` a complex image
correlation (``mode="same"``) for every algorithm, both complex dtypes and
one or two threads, with the complex product computed from 3 real products
(Gauss) or 4 (the definition), the choice behind
``fastconv._complex.PRODUCTS``: time per call, and peak memory. GFLOP/s are
not tracked: the real work is 3 or 4 times the complex multiply-adds.
``CorrelateFFT`` times the complex FFT path of ``fastconv.correlate`` (the
complex arrays transformed as they are) on a long signal and a large image,
with its speed-up over ``scipy.signal.correlate(method="fft")``.
"""
import numpy as np

import fastconv

from . import common

COMPLEX_DTYPES = ("complex64",) if common.QUICK else ("complex64", "complex128")
PRODUCTS = (3, 4)


def _complex_array(shape, dtype, seed):
    """Standard normal real and imaginary parts (every page written)."""
    real = "float32" if dtype == "complex64" else "float64"
    return np.ascontiguousarray(common.random_array(shape, real, seed)
                                + 1j * common.random_array(shape, real, seed + 100)
                                ).astype(dtype)


def _set_products(products):
    """Use ``products`` real products per complex one; skip versions without complex."""
    try:
        from fastconv import _complex
    except ImportError as exc:
        raise NotImplementedError("this fastconv version has no complex inputs") from exc
    if not hasattr(_complex, "compose") or not isinstance(_complex.PRODUCTS, dict):
        raise NotImplementedError("this fastconv version has no complex conv2d/correlate")
    previous = dict(_complex.PRODUCTS)
    _complex.PRODUCTS.update(dict.fromkeys(previous, products))
    return previous


def _restore_products(previous):
    from fastconv import _complex
    _complex.PRODUCTS.update(previous)


class Conv2d:
    """A complex 3 x 3 conv2d layer, padding 1."""

    x_shape = common.pick((8, 32, 56, 56), (1, 8, 28, 28))
    w_shape = common.pick((32, 32, 3, 3), (8, 8, 3, 3))

    params = (common.ALGORITHMS, COMPLEX_DTYPES, PRODUCTS, common.THREADS)
    param_names = ("algorithm", "dtype", "products", "threads")
    repeat = (3, 10, 20.0)
    number = 1
    timeout = 300

    def setup(self, algorithm, dtype, products, threads):
        common.require_algorithm(algorithm)
        self.previous = _set_products(products)
        common.set_threads(threads)
        self.x = _complex_array(self.x_shape, dtype, seed=0)
        self.w = _complex_array(self.w_shape, dtype, seed=1)
        self.b = _complex_array(self.w_shape[:1], dtype, seed=2)
        common.check_call(lambda: self._run(algorithm), algorithm)

    def teardown(self, algorithm, dtype, products, threads):
        common.restore_threads()
        if hasattr(self, "previous"):
            _restore_products(self.previous)

    def _run(self, algorithm):
        return fastconv.conv2d(self.x, self.w, self.b, padding=1, algorithm=algorithm)

    def time_conv2d(self, algorithm, dtype, products, threads):
        self._run(algorithm)

    def peakmem_conv2d(self, algorithm, dtype, products, threads):
        self._run(algorithm)


class Correlate:
    """A complex image correlated with a complex k x k kernel, mode='same'."""

    size = common.pick(1024, 256)

    params = (("auto", "direct", "fft"), (7, 31), COMPLEX_DTYPES, PRODUCTS, common.THREADS)
    param_names = ("algorithm", "kernel", "dtype", "products", "threads")
    repeat = (3, 10, 20.0)
    number = 1
    timeout = 300

    def setup(self, algorithm, kernel, dtype, products, threads):
        self.previous = _set_products(products)
        common.set_threads(threads)
        self.x = _complex_array((self.size, self.size), dtype, seed=0)
        self.w = _complex_array((kernel, kernel), dtype, seed=1)
        common.check_call(lambda: self._run(algorithm), algorithm)

    def teardown(self, algorithm, kernel, dtype, products, threads):
        common.restore_threads()
        if hasattr(self, "previous"):
            _restore_products(self.previous)

    def _run(self, algorithm):
        return fastconv.correlate(self.x, self.w, "same", algorithm=algorithm)

    def time_correlate(self, algorithm, kernel, dtype, products, threads):
        self._run(algorithm)

    def peakmem_correlate(self, algorithm, kernel, dtype, products, threads):
        self._run(algorithm)


class CorrelateFFT:
    """Complex correlation by the FFT (``algorithm="fft"``, mode 'full'), against
    ``scipy.signal.correlate(method="fft")`` on the same complex arrays: a
    long signal with many taps (overlap-save blocks) and an image with a large
    kernel (one transform). ``track_speedup_vs_scipy`` is SciPy's time over
    fastconv's, measured in the same process (interleaved, best of a few
    calls each; SciPy's FFT runs on one thread)."""

    CASES = {
        "signal": common.pick(((1_000_000,), (1001,)), ((100_000,), (101,))),
        "image": common.pick(((2048, 2048), (63, 63)), ((512, 512), (15, 15))),
    }
    params = (tuple(CASES), COMPLEX_DTYPES, common.THREADS)
    param_names = ("case", "dtype", "threads")
    repeat = (3, 10, 30.0)
    number = 1
    timeout = 600

    def setup(self, case, dtype, threads):
        common.set_threads(threads)
        x_shape, w_shape = self.CASES[case]
        self.x = _complex_array(x_shape, dtype, seed=0)
        self.w = _complex_array(w_shape, dtype, seed=1)
        common.check_call(self._run, "fft")

    def teardown(self, case, dtype, threads):
        common.restore_threads()

    def _run(self):
        return fastconv.correlate(self.x, self.w, algorithm="fft")

    def time_correlate(self, case, dtype, threads):
        self._run()

    def peakmem_correlate(self, case, dtype, threads):
        self._run()

    def track_speedup_vs_scipy(self, case, dtype, threads):
        try:
            import scipy.signal
        except ImportError:
            raise NotImplementedError("SciPy is not installed")
        ours, theirs = float("inf"), float("inf")
        for _ in range(3):
            ours = min(ours, common.best_time(self._run, 1))
            theirs = min(theirs, common.best_time(
                lambda: scipy.signal.correlate(self.x, self.w, method="fft"), 1))
        return theirs / ours

    track_speedup_vs_scipy.unit = "x"
