"""asv benchmarks of ``fastconv.conv1d``, ``conv2d`` and ``conv3d``.

``Conv1d``, ``Conv2d`` and ``Conv3d`` measure one representative shape each
for every algorithm, both float dtypes and one or two threads: time per call,
peak memory, and achieved GFLOP/s. ``Layers`` times the layers of the
``python -m fastconv bench`` suite with each algorithm.

The shapes are chosen so that a ``--quick`` run of the whole suite takes a
few minutes even with the slowest algorithm and float64.
"""
import fastconv

from . import common


class _ConvCase:
    """One convolution shape, run for every (algorithm, dtype, threads).

    Subclasses set ``ndim``, ``x_shape``, ``w_shape`` and the keyword
    arguments ``conv_kwargs``. The class name starts with an underscore so that
    asv does not collect it on its own.
    """

    ndim = None
    x_shape = None
    w_shape = None
    conv_kwargs = {}

    params = (common.ALGORITHMS, common.DTYPES, common.THREADS)
    param_names = ("algorithm", "dtype", "threads")

    # Each timing repeats between 3 and 10 times, and stops repeating after
    # 20 s, so that the slow float64 cases stay affordable in a full run.
    repeat = (3, 10, 20.0)
    number = 1
    timeout = 300

    #: Timed calls behind one ``track_gflops`` value (after one warm-up call).
    gflops_repeats = 3

    def setup(self, algorithm, dtype, threads):
        common.require_algorithm(algorithm)
        common.set_threads(threads)
        self.func = common.conv_function(self.ndim)
        self.x = common.random_array(self.x_shape, dtype, seed=0)
        self.w = common.random_array(self.w_shape, dtype, seed=1)
        self.b = common.random_array(self.w_shape[:1], dtype, seed=2)
        self.kwargs = dict(self.conv_kwargs, algorithm=algorithm)
        self.macs = common.conv_macs(self.x_shape, self.w_shape, **self._shape_kwargs())

    def teardown(self, algorithm, dtype, threads):
        common.restore_threads()

    def _shape_kwargs(self):
        return {k: v for k, v in self.conv_kwargs.items()
                if k in ("stride", "padding", "dilation")}

    def _run(self):
        return self.func(self.x, self.w, self.b, **self.kwargs)

    def time_conv(self, algorithm, dtype, threads):
        self._run()

    def peakmem_conv(self, algorithm, dtype, threads):
        self._run()

    def track_gflops(self, algorithm, dtype, threads):
        seconds = common.best_time(self._run, self.gflops_repeats)
        return 2.0 * self.macs / seconds / 1e9

    track_gflops.unit = "GFLOP/s"


class Conv1d(_ConvCase):
    """A batch of 8 sequences of 4096 samples, 64 -> 64 channels, kernel 3."""

    ndim = 1
    x_shape = (8, 64, 4096)
    w_shape = (64, 64, 3)
    conv_kwargs = {"padding": 1}


class Conv2d(_ConvCase):
    """A ResNet-style 3 x 3 layer: 64 -> 64 channels on 56 x 56, padding 1."""

    ndim = 2
    x_shape = (1, 64, 56, 56)
    w_shape = (64, 64, 3, 3)
    conv_kwargs = {"padding": 1}


class Conv3d(_ConvCase):
    """A 3 x 3 x 3 layer, 32 -> 32 channels on 8 x 28 x 28, padding 1.

    A video-network layer would rather be 16 x 56 x 56; that is 8 times the
    work, too slow for the direct float64 case to keep the suite quick.
    """

    ndim = 3
    x_shape = (1, 32, 8, 28, 28)
    w_shape = (32, 32, 3, 3, 3)
    conv_kwargs = {"padding": 1}


#: The layers of ``python -m fastconv bench``: name -> (input shape, weight
#: shape, keyword arguments). Batch 1, float32, 56 x 56 feature maps.
LAYERS = {
    "resnet3x3_64_56": ((1, 64, 56, 56), (64, 64, 3, 3), {"padding": 1}),
    "pw1x1_256_64_56": ((1, 256, 56, 56), (64, 256, 1, 1), {}),
    "dw3x3_144_56": ((1, 144, 56, 56), (144, 1, 3, 3), {"padding": 1, "groups": 144}),
    "s2_3x3_128_56": ((1, 128, 56, 56), (128, 128, 3, 3), {"padding": 1, "stride": 2}),
    "dil2_3x3_64_56": ((1, 64, 56, 56), (64, 64, 3, 3), {"padding": 2, "dilation": 2}),
}


class Layers:
    """The ``python -m fastconv bench`` layers, in float32, with default threads."""

    params = (list(LAYERS), common.ALGORITHMS)
    param_names = ("layer", "algorithm")
    repeat = (3, 10, 20.0)
    number = 1
    timeout = 300

    def setup(self, layer, algorithm):
        common.require_algorithm(algorithm)
        x_shape, w_shape, kwargs = LAYERS[layer]
        self.x = common.random_array(x_shape, "float32", seed=0)
        self.w = common.random_array(w_shape, "float32", seed=1)
        self.b = common.random_array(w_shape[:1], "float32", seed=2)
        self.kwargs = dict(kwargs, algorithm=algorithm)

    def time_layer(self, layer, algorithm):
        fastconv.conv2d(self.x, self.w, self.b, **self.kwargs)

    def peakmem_layer(self, layer, algorithm):
        fastconv.conv2d(self.x, self.w, self.b, **self.kwargs)
