"""asv benchmarks of ``fastconv.conv1d``, ``conv2d`` and ``conv3d``.

``Conv1d``, ``Conv2d`` and ``Conv3d`` measure one representative shape each
for every algorithm, both float dtypes and one or two threads: time per call,
peak memory, and achieved GFLOP/s. ``Conv2dOptions`` measures the options
that change the data path (padding modes, ``padding="same"`` with a stride,
channels-last layout, ``out=``). ``Layers`` times the float32 layers of the
``python -m fastconv bench`` suite that ``conv2d`` computes, with each
algorithm and thread count. ``Plans`` measures ``plan_conv1d/2d/3d``: making
a plan, and calling it.

The shapes depend on the profile (``FASTCONV_ASV_PROFILE``, see
``common.py``): network-sized in the full profile, small in the quick one.
``fastconv.conv_output_shape`` and the configuration functions
(``get_num_threads``, ``set_num_threads``, ``get_config``, ``show_config``)
do no measurable work and are not benchmarked.
"""
import inspect

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
        common.check_call(self._run, algorithm)

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
    x_shape = common.pick((8, 64, 4096), (2, 16, 512))
    w_shape = common.pick((64, 64, 3), (16, 16, 3))
    conv_kwargs = {"padding": 1}


class Conv2d(_ConvCase):
    """A ResNet-style 3 x 3 layer: 64 -> 64 channels on 56 x 56, padding 1."""

    ndim = 2
    x_shape = common.pick((1, 64, 56, 56), (1, 16, 28, 28))
    w_shape = common.pick((64, 64, 3, 3), (16, 16, 3, 3))
    conv_kwargs = {"padding": 1}


class Conv3d(_ConvCase):
    """A 3 x 3 x 3 layer, 32 -> 32 channels on 8 x 28 x 28, padding 1.

    A video-network layer would rather be 16 x 56 x 56; that is 8 times the
    work, too slow for the direct float64 case to keep the suite quick.
    """

    ndim = 3
    x_shape = common.pick((1, 32, 8, 28, 28), (1, 8, 6, 14, 14))
    w_shape = common.pick((32, 32, 3, 3, 3), (8, 8, 3, 3, 3))
    conv_kwargs = {"padding": 1}


#: ``Conv2dOptions`` cases: name -> (keyword arguments of ``conv2d``, whether
#: the input and the result are channels-last, whether ``out=`` is passed).
OPTIONS = {
    "zeros": ({"padding": 1}, False, False),
    "reflect": ({"padding": 1, "padding_mode": "reflect"}, False, False),
    "circular": ({"padding": 1, "padding_mode": "circular"}, False, False),
    "same_stride2": ({"padding": "same", "stride": 2}, False, False),
    "channels_last": ({"padding": 1, "layout": "channels_last"}, True, False),
    "out": ({"padding": 1}, False, True),
}


class Conv2dOptions:
    """``conv2d`` options that change the data path, on the ``Conv2d`` shape.

    Compare each case with ``zeros`` (the plain call): the padding modes build
    a padded copy, channels-last input is read in another order, and ``out=``
    saves the allocation of the result. ``auto`` algorithm, float32.
    """

    params = (list(OPTIONS), common.THREADS)
    param_names = ("option", "threads")
    repeat = (3, 10, 20.0)
    number = 1
    timeout = 300

    def setup(self, option, threads):
        kwargs, channels_last, use_out = OPTIONS[option]
        if "layout" in kwargs:
            if "layout" not in inspect.signature(fastconv.conv2d).parameters:
                raise NotImplementedError("conv2d has no layout= in this fastconv version")
        common.set_threads(threads)
        x_shape, w_shape = Conv2d.x_shape, Conv2d.w_shape
        x = common.random_array(x_shape, "float32", seed=0)
        self.x = x.transpose(0, 2, 3, 1).copy() if channels_last else x
        self.w = common.random_array(w_shape, "float32", seed=1)
        self.b = common.random_array(w_shape[:1], "float32", seed=2)
        self.kwargs = dict(kwargs)
        if use_out:
            shape = fastconv.conv_output_shape(x_shape, w_shape, padding=kwargs["padding"])
            self.kwargs["out"] = common.random_array(shape, "float32", seed=3)
        common.check_call(self._run, "auto")

    def teardown(self, option, threads):
        common.restore_threads()

    def _run(self):
        return fastconv.conv2d(self.x, self.w, self.b, **self.kwargs)

    def time_conv2d(self, option, threads):
        self._run()

    def peakmem_conv2d(self, option, threads):
        self._run()


#: The float32 ``conv2d`` layers of ``python -m fastconv bench``: name ->
#: (input shape, weight shape, keyword arguments). A fixed list (not read from
#: the installed fastconv), so that every measured commit gets the same
#: parameters. The quick profile shrinks the spatial size and the channels.
LAYERS = {
    "resnet3x3_64_56": ((1, 64, 56, 56), (64, 64, 3, 3), {"padding": 1}),
    "resnet3x3_256_14": ((1, 256, 14, 14), (256, 256, 3, 3), {"padding": 1}),
    "pw1x1_256_64_56": ((1, 256, 56, 56), (64, 256, 1, 1), {}),
    "s2_3x3_128_56": ((1, 128, 56, 56), (128, 128, 3, 3), {"padding": 1, "stride": 2}),
    "dw3x3_144_56": ((1, 144, 56, 56), (144, 1, 3, 3), {"padding": 1, "groups": 144}),
    "grp32_3x3_128_56": ((1, 128, 56, 56), (128, 4, 3, 3), {"padding": 1, "groups": 32}),
    "dil2_3x3_64_56": ((1, 64, 56, 56), (64, 64, 3, 3), {"padding": 2, "dilation": 2}),
    "img5x5_1024": ((1, 1, 1024, 1024), (1, 1, 5, 5), {"padding": 2}),
}


def _layer_shapes(layer):
    """The layer's shapes in the current profile (quick: a quarter of the
    channels, spatial size 1/4, groups kept)."""
    x_shape, w_shape, kwargs = LAYERS[layer]
    if not common.QUICK:
        return x_shape, w_shape, kwargs
    groups = kwargs.get("groups", 1)
    c_in = max(groups, x_shape[1] // 4)
    c_out = max(groups, w_shape[0] // 4)
    x_shape = (1, c_in) + tuple(max(8, s // 4) for s in x_shape[2:])
    w_shape = (c_out, c_in // groups) + w_shape[2:]
    return x_shape, w_shape, kwargs


class Layers:
    """The ``python -m fastconv bench`` conv2d layers, float32, each algorithm."""

    params = (list(LAYERS), common.ALGORITHMS, common.THREADS)
    param_names = ("layer", "algorithm", "threads")
    repeat = (3, 10, 20.0)
    number = 1
    timeout = 300

    def setup(self, layer, algorithm, threads):
        common.require_algorithm(algorithm)
        common.set_threads(threads)
        x_shape, w_shape, kwargs = _layer_shapes(layer)
        self.x = common.random_array(x_shape, "float32", seed=0)
        self.w = common.random_array(w_shape, "float32", seed=1)
        self.b = common.random_array(w_shape[:1], "float32", seed=2)
        self.kwargs = dict(kwargs, algorithm=algorithm)
        self.macs = common.conv_macs(x_shape, w_shape,
                                     **{k: v for k, v in kwargs.items() if k != "groups"})
        common.check_call(self._run, algorithm)

    def teardown(self, layer, algorithm, threads):
        common.restore_threads()

    def _run(self):
        return fastconv.conv2d(self.x, self.w, self.b, **self.kwargs)

    def time_layer(self, layer, algorithm, threads):
        self._run()

    def peakmem_layer(self, layer, algorithm, threads):
        self._run()

    def track_gflops(self, layer, algorithm, threads):
        seconds = common.best_time(self._run, 3)
        return 2.0 * self.macs / seconds / 1e9

    track_gflops.unit = "GFLOP/s"


#: ``Plans`` cases: the ``Conv1d``, ``Conv2d`` and ``Conv3d`` shapes.
PLAN_CASES = {"conv1d": Conv1d, "conv2d": Conv2d, "conv3d": Conv3d}


class Plans:
    """``fastconv.plan_conv1d/2d/3d``: making a plan, and calling it.

    A plan prepares the weights once (Winograd's transform, im2col's packing);
    ``time_plan_call`` against ``Conv2d.time_conv`` (same shape, same
    algorithm) is what that saves per call, ``time_plan_make`` what it costs
    once. float32, on the shapes of ``Conv1d``, ``Conv2d`` and ``Conv3d``;
    skipped on versions without plans.
    """

    params = (list(PLAN_CASES), common.ALGORITHMS, common.THREADS)
    param_names = ("case", "algorithm", "threads")
    repeat = (3, 10, 20.0)
    number = 1
    timeout = 300

    def setup(self, case, algorithm, threads):
        common.require_algorithm(algorithm)
        cls = PLAN_CASES[case]
        self.make = common.require_function(f"plan_conv{cls.ndim}d")
        common.set_threads(threads)
        self.x = common.random_array(cls.x_shape, "float32", seed=0)
        self.w = common.random_array(cls.w_shape, "float32", seed=1)
        self.b = common.random_array(cls.w_shape[:1], "float32", seed=2)
        self.kwargs = dict(cls.conv_kwargs, algorithm=algorithm)
        self.plan = common.check_call(self._make, algorithm)
        self.plan(self.x)

    def teardown(self, case, algorithm, threads):
        common.restore_threads()

    def _make(self):
        return self.make(self.w, self.x.shape, self.b, **self.kwargs)

    def time_plan_make(self, case, algorithm, threads):
        self._make()

    def time_plan_call(self, case, algorithm, threads):
        self.plan(self.x)

    def peakmem_plan_call(self, case, algorithm, threads):
        self.plan(self.x)
