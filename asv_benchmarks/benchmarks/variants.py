"""asv benchmarks of the convolution family: depthwise, depthwise-separable,
spatially separable and octave convolutions.

* ``Depthwise``: the MobileNet-V2 depthwise layer (3 x 3, 144 channels, 56 x 56).
* ``Separable``: the MobileNet-V2 block, 3 x 3 depthwise 144 channels then
  1 x 1 144 -> 144, as one fused ``separable_conv2d`` call (``fused``) and as
  ``depthwise_conv2d`` then ``conv2d`` (``two_calls``): time and peak memory.
* ``SpatiallySeparable``: a 7 x 1 then 1 x 7 pair against the 7 x 7
  convolution of the product kernel (``conv2d_7x7``).
* ``Octave``: alpha = 0.5, 3 x 3, 128 channels in and out at 56 x 56, against
  the ordinary ``conv2d`` with the same channel counts.

Every case runs on 1 and 2 threads; a case is skipped ("n/a") on a fastconv
version without the function or the algorithm.
"""
import fastconv

from . import common


class _VariantCase:
    """Shared set-up: threads, warm-up call, teardown."""

    repeat = (3, 10, 20.0)
    number = 1
    timeout = 300

    def teardown(self, *args):
        common.restore_threads()


class Depthwise(_VariantCase):
    """``depthwise_conv2d``: 3 x 3, 144 channels, 56 x 56, padding 1."""

    params = (common.ALGORITHMS, common.DTYPES, common.THREADS)
    param_names = ("algorithm", "dtype", "threads")

    def setup(self, algorithm, dtype, threads):
        common.require_algorithm(algorithm)
        self.func = common.require_function("depthwise_conv2d")
        common.set_threads(threads)
        c, hw = common.pick(144, 36), common.pick(56, 28)
        self.x = common.random_array((1, c, hw, hw), dtype, seed=0)
        self.w = common.random_array((c, 1, 3, 3), dtype, seed=1)
        self.algorithm = algorithm
        common.check_call(self._run, algorithm)

    def _run(self):
        return self.func(self.x, self.w, padding=1, algorithm=self.algorithm)

    def time_depthwise(self, algorithm, dtype, threads):
        self._run()

    def peakmem_depthwise(self, algorithm, dtype, threads):
        self._run()


class Separable(_VariantCase):
    """The MobileNet-V2 block: fused ``separable_conv2d`` against two calls."""

    params = (("fused", "two_calls"), common.DTYPES, common.THREADS)
    param_names = ("mode", "dtype", "threads")

    def setup(self, mode, dtype, threads):
        self.separable = common.require_function("separable_conv2d")
        self.depthwise = common.require_function("depthwise_conv2d")
        common.set_threads(threads)
        c, hw = common.pick(144, 36), common.pick(56, 28)
        self.x = common.random_array((1, c, hw, hw), dtype, seed=0)
        self.dw = common.random_array((c, 1, 3, 3), dtype, seed=1)
        self.pw = common.random_array((c, c, 1, 1), dtype, seed=2)
        self.b = common.random_array((c,), dtype, seed=3)
        self.mode = mode
        self._run()

    def _run(self):
        if self.mode == "fused":
            return self.separable(self.x, self.dw, self.pw, self.b, padding=1)
        return fastconv.conv2d(self.depthwise(self.x, self.dw, padding=1), self.pw, self.b)

    def time_separable(self, mode, dtype, threads):
        self._run()

    def peakmem_separable(self, mode, dtype, threads):
        self._run()


class SpatiallySeparable(_VariantCase):
    """A 7 x 1 then 1 x 7 pair, 64 channels at 56 x 56, against the 7 x 7 conv."""

    params = (("pair", "conv2d_7x7"), common.THREADS)
    param_names = ("mode", "threads")

    def setup(self, mode, threads):
        self.func = common.require_function("spatially_separable_conv2d")
        common.set_threads(threads)
        c, hw = common.pick(64, 16), common.pick(56, 28)
        self.x = common.random_array((1, c, hw, hw), "float32", seed=0)
        self.col = common.random_array((c, c, 7, 1), "float32", seed=1)
        self.row = common.random_array((c, c, 1, 7), "float32", seed=2)
        self.full = common.random_array((c, c, 7, 7), "float32", seed=3)
        self.mode = mode
        self._run()

    def _run(self):
        if self.mode == "pair":
            return self.func(self.x, self.col, self.row, padding=3)
        return fastconv.conv2d(self.x, self.full, padding=3)

    def time_spatially_separable(self, mode, threads):
        self._run()

    def peakmem_spatially_separable(self, mode, threads):
        self._run()


class Octave(_VariantCase):
    """alpha = 0.5 octave convolution against ``conv2d`` with the same channels."""

    params = (("octave", "conv2d"), common.ALGORITHMS, common.THREADS)
    param_names = ("mode", "algorithm", "threads")

    def setup(self, mode, algorithm, threads):
        common.require_algorithm(algorithm)
        self.func = common.require_function("octave_conv2d")
        common.set_threads(threads)
        c, hw = common.pick(128, 32), common.pick(56, 28)
        h = c // 2
        self.x = common.random_array((1, c, hw, hw), "float32", seed=0)
        self.w = common.random_array((c, c, 3, 3), "float32", seed=1)
        self.xh = common.random_array((1, h, hw, hw), "float32", seed=2)
        self.xl = common.random_array((1, h, hw // 2, hw // 2), "float32", seed=3)
        self.ws = [common.random_array((h, h, 3, 3), "float32", seed=4 + i) for i in range(4)]
        self.mode, self.algorithm = mode, algorithm
        common.check_call(self._run, algorithm)

    def _run(self):
        if self.mode == "octave":
            return self.func(self.xh, self.xl, *self.ws, padding=1, algorithm=self.algorithm)
        return fastconv.conv2d(self.x, self.w, padding=1, algorithm=self.algorithm)

    def time_octave(self, mode, algorithm, threads):
        self._run()

    def peakmem_octave(self, mode, algorithm, threads):
        self._run()
