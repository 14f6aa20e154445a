"""asv benchmarks of ``fastconv.conv_transpose1d/2d/3d``.

``ConvTranspose2d`` times the bench-suite layer convT4x4s2_64_32_28 (4 x 4,
stride 2, padding 1, 64 -> 32 channels, 28 x 28 input) for every algorithm,
both float dtypes and one or two threads; ``ConvTranspose1d`` and
``ConvTranspose3d`` one smaller shape each; ``ConvTranspose2dUNet`` U-Net's
first 2 x 2 stride-2 up-convolution, whose GEMM packs its A straight from the
weights.
"""
import math

import fastconv

from . import common


def _require_transposed(ndim):
    name = f"conv_transpose{ndim}d"
    if not hasattr(fastconv, name):
        raise NotImplementedError(f"fastconv.{name} is not available in this version")
    return getattr(fastconv, name)


class _TransposedCase:
    ndim = None
    x_shape = None
    w_shape = None
    kwargs = {}

    params = (common.ALGORITHMS, common.DTYPES, common.THREADS)
    param_names = ("algorithm", "dtype", "threads")
    repeat = (3, 10, 20.0)
    number = 1
    timeout = 300
    gflops_repeats = 3

    def setup(self, algorithm, dtype, threads):
        self.func = _require_transposed(self.ndim)
        self.algorithm = algorithm
        common.require_algorithm(algorithm)
        common.set_threads(threads)
        self.x = common.random_array(self.x_shape, dtype, seed=0)
        self.w = common.random_array(self.w_shape, dtype, seed=1)
        self.b = common.random_array((self.w_shape[1],), dtype, seed=2)
        # every input element meets every tap once
        self.macs = math.prod(self.x_shape) * math.prod(self.w_shape[1:])
        common.check_call(self._run, algorithm)

    def teardown(self, algorithm, dtype, threads):
        common.restore_threads()

    def _run(self):
        return self.func(self.x, self.w, self.b, algorithm=self.algorithm, **self.kwargs)

    def time_conv_transpose(self, algorithm, dtype, threads):
        self._run()

    def peakmem_conv_transpose(self, algorithm, dtype, threads):
        self._run()

    def track_gflops(self, algorithm, dtype, threads):
        seconds = common.best_time(self._run, self.gflops_repeats)
        return 2.0 * self.macs / seconds / 1e9

    track_gflops.unit = "GFLOP/s"


class ConvTranspose2d(_TransposedCase):
    """convT4x4s2_64_32_28: 2x upsampling, 64 -> 32 channels."""

    ndim = 2
    x_shape = (1, 64, 28, 28)
    w_shape = (64, 32, 4, 4)
    kwargs = {"stride": 2, "padding": 1}


class ConvTranspose1d(_TransposedCase):
    """A batch of 8 sequences of 1024 samples, 64 -> 64 channels, kernel 4, stride 2."""

    ndim = 1
    x_shape = (8, 64, 1024)
    w_shape = (64, 64, 4)
    kwargs = {"stride": 2, "padding": 1}


class ConvTranspose3d(_TransposedCase):
    """16 -> 16 channels, 8 x 28 x 28, kernel 2, stride 2."""

    ndim = 3
    x_shape = (1, 16, 8, 28, 28)
    w_shape = (16, 16, 2, 2, 2)
    kwargs = {"stride": 2}


class ConvTranspose2dStride1(_TransposedCase):
    """3 x 3, stride 1, 64 -> 64 channels on 56 x 56 (a conv's input gradient)."""

    ndim = 2
    x_shape = (1, 64, 56, 56)
    w_shape = (64, 64, 3, 3)
    kwargs = {"padding": 1}


class ConvTranspose2dUNet(_TransposedCase):
    """U-Net's up2x2s2_1024_512_28: 2 x 2, stride 2, 1024 -> 512 channels on 28 x 28
    (256 -> 128 channels in the quick profile)."""

    ndim = 2
    x_shape = (1, common.pick(1024, 256), 28, 28)
    w_shape = (common.pick(1024, 256), common.pick(512, 128), 2, 2)
    kwargs = {"stride": 2}
