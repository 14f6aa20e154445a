"""asv benchmarks of tiny calls: where the Python layer, not the arithmetic,
sets the time (the bench's ``--suite tiny``).

One call on 4 channels and 3-tap kernels (64 samples, 8 x 8, 8 x 8 x 8), and
``correlate``/``convolve`` of a 64-sample signal with 5 taps and of a
32 x 32 image with a 3 x 3 kernel (``mode="same"``). Users who filter many
small arrays in a loop pay this per call; the targets are PyTorch's per-call
time (with ``from_numpy``/``.numpy()``) for the convolutions and a few
microseconds for the filters. One thread: a parallel region cannot pay off
at this size.
"""
import numpy as np

import fastconv

from . import common

CASES = {
    "conv1d": ((1, 4, 64), (4, 4, 3)),
    "conv2d": ((1, 4, 8, 8), (4, 4, 3, 3)),
    "conv3d": ((1, 4, 8, 8, 8), (4, 4, 3, 3, 3)),
}
FILTERS = {
    "signal64_k5": ((64,), (5,)),
    "img32_3x3": ((32, 32), (3, 3)),
}


class TinyConv:
    """``fastconv.conv{N}d`` with padding 1 and a bias, per call."""

    params = (list(CASES), ["auto", "direct"])
    param_names = ("case", "algorithm")
    number = 200
    repeat = (3, 10, 10.0)

    def setup(self, case, algorithm):
        common.set_threads(1)
        x_shape, w_shape = CASES[case]
        self.conv = common.conv_function(len(w_shape) - 2)
        self.x = common.random_array(x_shape, "float32", seed=0)
        self.w = common.random_array(w_shape, "float32", seed=1)
        self.b = common.random_array(w_shape[:1], "float32", seed=2)
        self.conv(self.x, self.w, self.b, padding=1, algorithm=algorithm)

    def teardown(self, case, algorithm):
        common.restore_threads()

    def time_call(self, case, algorithm):
        self.conv(self.x, self.w, self.b, padding=1, algorithm=algorithm)


class TinyFilter:
    """``fastconv.correlate`` and ``convolve``, ``mode="same"``, per call."""

    params = (list(FILTERS), ["correlate", "convolve"])
    param_names = ("case", "function")
    number = 200
    repeat = (3, 10, 10.0)

    def setup(self, case, function):
        common.set_threads(1)
        self.func = common.require_function(function)
        x_shape, k_shape = FILTERS[case]
        self.x = common.random_array(x_shape, "float32", seed=0)
        self.k = common.random_array(k_shape, "float32", seed=1)
        assert np.all(np.isfinite(self.func(self.x, self.k, mode="same")))

    def teardown(self, case, function):
        common.restore_threads()

    def time_call(self, case, function):
        self.func(self.x, self.k, mode="same")
