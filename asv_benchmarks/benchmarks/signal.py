"""asv benchmarks of ``fastconv.correlate`` (images) and ``fastconv.convolve`` (signals).

``Image`` filters a 1024 x 1024 single-channel image with a k x k kernel in
``mode="same"`` (k = 3, 5, 7, 11), ``Signal`` convolves 1e6 samples with 501
taps; both for every algorithm, both float dtypes and one or two threads:
time per call, peak memory, and achieved GFLOP/s (2 x multiply-adds of the
direct definition, whatever the algorithm).
"""
import fastconv

from . import common

#: The algorithms of correlate/convolve; "winograd" is skipped where absent.
SIGNAL_ALGORITHMS = ("auto", "direct", "fft")


def _require(algorithm):
    """Skip when this fastconv version lacks correlate or the algorithm."""
    if not hasattr(fastconv, "correlate"):
        raise NotImplementedError("this fastconv version has no correlate/convolve")
    if algorithm == "winograd":
        common.require_algorithm(algorithm)


class Image:
    """1024 x 1024 image, k x k kernel, mode='same'."""

    params = (SIGNAL_ALGORITHMS, (3, 5, 7, 11), common.DTYPES, common.THREADS)
    param_names = ("algorithm", "kernel", "dtype", "threads")
    repeat = (3, 10, 20.0)
    number = 1
    timeout = 300
    gflops_repeats = 3

    def setup(self, algorithm, kernel, dtype, threads):
        _require(algorithm)
        common.set_threads(threads)
        self.x = common.random_array((1024, 1024), dtype, seed=0)
        self.w = common.random_array((kernel, kernel), dtype, seed=1)
        self.macs = 1024 * 1024 * kernel * kernel

    def teardown(self, algorithm, kernel, dtype, threads):
        common.restore_threads()

    def _run(self, algorithm):
        return fastconv.correlate(self.x, self.w, "same", algorithm=algorithm)

    def time_correlate(self, algorithm, kernel, dtype, threads):
        self._run(algorithm)

    def peakmem_correlate(self, algorithm, kernel, dtype, threads):
        self._run(algorithm)

    def track_gflops(self, algorithm, kernel, dtype, threads):
        seconds = common.best_time(lambda: self._run(algorithm), self.gflops_repeats)
        return 2.0 * self.macs / seconds / 1e9

    track_gflops.unit = "GFLOP/s"


class Signal:
    """1e6 samples convolved with 501 taps, mode='full'."""

    params = (SIGNAL_ALGORITHMS, common.DTYPES, common.THREADS)
    param_names = ("algorithm", "dtype", "threads")
    repeat = (3, 10, 20.0)
    number = 1
    timeout = 300
    gflops_repeats = 3

    def setup(self, algorithm, dtype, threads):
        _require(algorithm)
        common.set_threads(threads)
        self.x = common.random_array((1_000_000,), dtype, seed=0)
        self.w = common.random_array((501,), dtype, seed=1)
        self.macs = 1_000_000 * 501

    def teardown(self, algorithm, dtype, threads):
        common.restore_threads()

    def _run(self, algorithm):
        return fastconv.convolve(self.x, self.w, algorithm=algorithm)

    def time_convolve(self, algorithm, dtype, threads):
        self._run(algorithm)

    def peakmem_convolve(self, algorithm, dtype, threads):
        self._run(algorithm)

    def track_gflops(self, algorithm, dtype, threads):
        seconds = common.best_time(lambda: self._run(algorithm), self.gflops_repeats)
        return 2.0 * self.macs / seconds / 1e9

    track_gflops.unit = "GFLOP/s"
