"""asv benchmarks of the kernel families written for whole networks.

* ``DepthwiseFixed``: the depthwise kernels of fixed size and stride
  (``dw3x3s1`` ... ``dw7x7s2``, chosen by ``algorithm="direct"`` and
  ``"auto"`` for 2-D depthwise layers of square 3x3, 5x5 or 7x7 kernels with
  stride 1 or 2), each on a layer of the networks that use it (MobileNetV2,
  EfficientNet-B0, ConvNeXt-style 7x7 blocks); the channel counts and map
  sizes are those of the network's layer.
* ``GemmWeightsInPlace``: the im2col GEMM reading the weights in place (a
  call without a plan) against the same layer through a plan (weights packed
  once), on the small-map 1x1 and 3x3 layers where the weights are the large
  operand (7x7 and 14x14 maps).
* ``GroupedGrid``: the direct algorithm's grid kernel (grouped 3 x 3 layers
  of few channels per group, stride 1 and 2), on ResNeXt-50 32x4d's grouped
  layers and the few-group layers of small networks, with ``"direct"`` and
  with ``"auto"``.
* ``PointwiseFewPixels``: 1 x 1 layers over at most 4 pixels (the
  ``pw1x1gemv`` matrix-times-vectors kernel, chosen by ``"auto"``):
  EfficientNet-B0's squeeze-and-excitation pairs on the pooled 1 x 1 map and
  a layer on a 2 x 2 map.
* ``Im2colFoldedBatch``: a batch of 8 through 1 x 1 layers with 7 x 7
  outputs, which im2col runs as one image, against the same images one by one.
* ``Im2colFewOutputChannels``: 1 x 1 layers of 2 to 58 output channels,
  whose last row panel of the GEMM is part full.

Every case runs on 1 and 2 threads (one thread in the quick profile).
"""
import fastconv

from . import common

#: name -> (channels, map size, kernel, stride) of the network layer.
DEPTHWISE_LAYERS = {
    "dw3x3s1": (common.pick(576, 64), common.pick(14, 14), 3, 1),
    "dw3x3s2": (common.pick(144, 32), common.pick(56, 28), 3, 2),
    "dw5x5s1": (common.pick(672, 64), common.pick(14, 14), 5, 1),
    "dw5x5s2": (common.pick(240, 32), common.pick(28, 28), 5, 2),
    "dw7x7s1": (common.pick(768, 64), common.pick(7, 7), 7, 1),
    "dw7x7s2": (common.pick(192, 32), common.pick(28, 28), 7, 2),
}


class DepthwiseFixed:
    """``conv2d`` with ``groups = C`` on the fixed-shape depthwise kernels."""

    params = (tuple(DEPTHWISE_LAYERS), common.DTYPES, common.THREADS)
    param_names = ("kernel", "dtype", "threads")
    repeat = (3, 10, 20.0)
    number = 1
    timeout = 300

    def setup(self, kernel, dtype, threads):
        common.set_threads(threads)
        c, hw, k, s = DEPTHWISE_LAYERS[kernel]
        self.x = common.random_array((1, c, hw, hw), dtype, seed=0)
        self.w = common.random_array((c, 1, k, k), dtype, seed=1)
        self.b = common.random_array((c,), dtype, seed=2)
        self.kwargs = dict(stride=s, padding=k // 2, groups=c)
        common.check_call(self._run, "direct")

    def teardown(self, kernel, dtype, threads):
        common.restore_threads()

    def _run(self):
        return fastconv.conv2d(self.x, self.w, self.b, algorithm="direct", **self.kwargs)

    def time_depthwise(self, kernel, dtype, threads):
        self._run()


#: name -> (C_in, C_out, map size, kernel) of the network layer.
SMALL_MAP_LAYERS = {
    "pw1x1_960_160_7": (common.pick(960, 240), common.pick(160, 40), 7, 1),
    "pw1x1_512_2048_7": (common.pick(512, 128), common.pick(2048, 256), 7, 1),
    "c3x3_256_256_14": (common.pick(256, 64), common.pick(256, 64), 14, 3),
}


class GemmWeightsInPlace:
    """im2col on small maps: a plain call (weights read in place) and a plan."""

    params = (tuple(SMALL_MAP_LAYERS), ("call", "plan"), common.DTYPES, common.THREADS)
    param_names = ("layer", "form", "dtype", "threads")
    repeat = (3, 10, 20.0)
    number = 1
    timeout = 300

    def setup(self, layer, form, dtype, threads):
        common.require_algorithm("im2col")
        common.set_threads(threads)
        cin, cout, hw, k = SMALL_MAP_LAYERS[layer]
        x = common.random_array((1, cin, hw, hw), dtype, seed=0)
        w = common.random_array((cout, cin, k, k), dtype, seed=1)
        kwargs = dict(padding=k // 2, algorithm="im2col")
        if form == "plan":
            plan = fastconv.plan_conv2d(w, x.shape, **kwargs)
            self.call = lambda: plan(x)
        else:
            self.call = lambda: fastconv.conv2d(x, w, **kwargs)
        common.check_call(self.call, "im2col")

    def teardown(self, *args):
        common.restore_threads()

    def time_im2col(self, layer, form, dtype, threads):
        self.call()


#: name -> (C_in, C_out, map size) of the network layer.
FEW_PIXEL_LAYERS = {
    "se_96_4_1": (96, 4, 1),
    "se_4_96_1": (4, 96, 1),
    "se_1152_48_1": (common.pick(1152, 288), common.pick(48, 12), 1),
    "se_48_1152_1": (common.pick(48, 12), common.pick(1152, 288), 1),
    "pw1x1_1280_320_2": (common.pick(1280, 320), common.pick(320, 80), 2),
}


class PointwiseFewPixels:
    """``conv2d`` with a 1 x 1 kernel on maps of 1 and 4 pixels (``auto``)."""

    params = (tuple(FEW_PIXEL_LAYERS), common.DTYPES, common.THREADS)
    param_names = ("layer", "dtype", "threads")
    repeat = (3, 10, 20.0)
    timeout = 300

    def setup(self, layer, dtype, threads):
        common.set_threads(threads)
        cin, cout, hw = FEW_PIXEL_LAYERS[layer]
        self.x = common.random_array((1, cin, hw, hw), dtype, seed=0)
        self.w = common.random_array((cout, cin, 1, 1), dtype, seed=1)
        self.b = common.random_array((cout,), dtype, seed=2)
        common.check_call(self._run, "auto")

    def teardown(self, layer, dtype, threads):
        common.restore_threads()

    def _run(self):
        return fastconv.conv2d(self.x, self.w, self.b)

    def time_pointwise(self, layer, dtype, threads):
        self._run()


#: name -> (channels, map size, groups, stride) of the network layer.
GROUPED_LAYERS = {
    "g32_3x3_256_28": (common.pick(256, 64), common.pick(28, 14), common.pick(32, 8), 1),
    "g32_3x3_512_14": (common.pick(512, 128), 14, common.pick(32, 8), 1),
    "g32_3x3_1024_7": (common.pick(1024, 256), 7, common.pick(32, 8), 1),
    "g32_3x3s2_256_56": (common.pick(256, 64), common.pick(56, 28), common.pick(32, 8), 2),
    "g8_3x3_64_28": (64, 28, 8, 1),
    "g4_3x3_96_14": (96, 14, 4, 1),
}


class GroupedGrid:
    """``conv2d`` of grouped 3 x 3 layers on the grid kernel (``"direct"``) and
    as ``"auto"`` runs them."""

    params = (tuple(GROUPED_LAYERS), ("direct", "auto"), common.DTYPES, common.THREADS)
    param_names = ("layer", "algorithm", "dtype", "threads")
    repeat = (3, 10, 20.0)
    timeout = 300

    def setup(self, layer, algorithm, dtype, threads):
        common.set_threads(threads)
        c, hw, groups, s = GROUPED_LAYERS[layer]
        self.x = common.random_array((1, c, hw, hw), dtype, seed=0)
        self.w = common.random_array((c, c // groups, 3, 3), dtype, seed=1)
        self.b = common.random_array((c,), dtype, seed=2)
        self.kwargs = dict(stride=s, padding=1, groups=groups, algorithm=algorithm)
        common.check_call(self._run, algorithm)

    def teardown(self, *args):
        common.restore_threads()

    def _run(self):
        return fastconv.conv2d(self.x, self.w, self.b, **self.kwargs)

    def time_grouped(self, layer, algorithm, dtype, threads):
        self._run()


#: name -> (input channels, output channels, map size, kernel, stride) of a
#: dense layer with few input channels (RGB stems, first layers).
DENSE_FEW_CHANNEL_LAYERS = {
    "3x3s2_3_32_224": (3, 32, common.pick(224, 112), 3, 2),
    "3x3_8_64_56": (8, 64, common.pick(56, 28), 3, 1),
    "3x3_16_64_28": (16, 64, 28, 3, 1),
    "5x5_16_32_56": (16, 32, common.pick(56, 28), 5, 1),
}


class DenseFewChannels:
    """``conv2d`` of dense layers of 2-16 input channels: the grid kernel
    (``"direct"``), the GEMM, and ``"auto"``, which runs the grid kernel."""

    params = (tuple(DENSE_FEW_CHANNEL_LAYERS), ("direct", "im2col", "auto"), common.DTYPES,
              common.THREADS)
    param_names = ("layer", "algorithm", "dtype", "threads")
    repeat = (3, 10, 20.0)
    timeout = 300

    def setup(self, layer, algorithm, dtype, threads):
        common.set_threads(threads)
        ci, co, hw, k, s = DENSE_FEW_CHANNEL_LAYERS[layer]
        self.x = common.random_array((1, ci, hw, hw), dtype, seed=0)
        self.w = common.random_array((co, ci, k, k), dtype, seed=1)
        self.kwargs = dict(stride=s, padding=k // 2, algorithm=algorithm)
        common.check_call(self._run, algorithm)

    def teardown(self, *args):
        common.restore_threads()

    def _run(self):
        return fastconv.conv2d(self.x, self.w, **self.kwargs)

    def time_dense_few_channels(self, layer, algorithm, dtype, threads):
        self._run()


class WinogradFewTiles:
    """``conv2d`` of 3 x 3 C -> C layers on a 14 x 14 map (49 output tiles):
    the per-call Winograd (its weight transform included), im2col, and
    ``"auto"`` (Winograd up to 8 MiB of transformed weights)."""

    params = ((common.pick(192, 128), 256, common.pick(512, 384)),
              ("winograd", "im2col", "auto"), common.DTYPES, common.THREADS)
    param_names = ("channels", "algorithm", "dtype", "threads")
    repeat = (3, 10, 20.0)
    timeout = 300

    def setup(self, channels, algorithm, dtype, threads):
        common.set_threads(threads)
        self.x = common.random_array((1, channels, 14, 14), dtype, seed=0)
        self.w = common.random_array((channels, channels, 3, 3), dtype, seed=1)
        self.algorithm = algorithm
        common.check_call(self._run, algorithm)

    def teardown(self, *args):
        common.restore_threads()

    def _run(self):
        return fastconv.conv2d(self.x, self.w, padding=1, algorithm=self.algorithm)

    def time_winograd_few_tiles(self, channels, algorithm, dtype, threads):
        self._run()


class Im2colLongSignal:
    """``conv1d`` on im2col over long signals: a stride-4 7-tap front end and
    a 9-tap layer (the packing's chunks lie within one output row)."""

    params = (("k7s4_64_128", "k9_64_64"), common.DTYPES, common.THREADS)
    param_names = ("layer", "dtype", "threads")
    repeat = (3, 10, 20.0)
    timeout = 300

    def setup(self, layer, dtype, threads):
        common.set_threads(threads)
        length = common.pick(16000, 4000)
        ci, co, k, s = {"k7s4_64_128": (64, 128, 7, 4), "k9_64_64": (64, 64, 9, 1)}[layer]
        self.x = common.random_array((1, ci, length), dtype, seed=0)
        self.w = common.random_array((co, ci, k), dtype, seed=1)
        self.kwargs = dict(stride=s, padding=k // 2, algorithm="im2col")
        common.check_call(self._run, "im2col")

    def teardown(self, *args):
        common.restore_threads()

    def _run(self):
        return fastconv.conv1d(self.x, self.w, **self.kwargs)

    def time_im2col_long_signal(self, layer, dtype, threads):
        self._run()


#: name -> (C_in, C_out, map size, stride) of ResNet-50's 1 x 1 layers whose
#: output maps are 7 x 7 (49 pixels: four 16-column panels, the last with one).
FOLDED_BATCH_LAYERS = {
    "1x1s2_1024_2048_14": (common.pick(1024, 256), common.pick(2048, 512), 14, 2),
    "1x1_512_2048_7": (common.pick(512, 128), common.pick(2048, 512), 7, 1),
}


class Im2colFoldedBatch:
    """``conv2d`` of a batch of 8 through 1 x 1 layers with 7 x 7 outputs:
    im2col runs the batch as one image (its 392 pixels fill the GEMM's
    column panels); the image-by-image GEMM is the same call on one image,
    times 8 (``per_image``)."""

    params = (tuple(FOLDED_BATCH_LAYERS), ("batch", "per_image"), common.DTYPES,
              common.THREADS)
    param_names = ("layer", "form", "dtype", "threads")
    repeat = (3, 10, 20.0)
    timeout = 300

    def setup(self, layer, form, dtype, threads):
        common.set_threads(threads)
        ci, co, hw, s = FOLDED_BATCH_LAYERS[layer]
        self.x = common.random_array((8, ci, hw, hw), dtype, seed=0)
        self.w = common.random_array((co, ci, 1, 1), dtype, seed=1)
        self.s = s
        self.form = form
        common.check_call(self._run, "im2col")

    def teardown(self, *args):
        common.restore_threads()

    def _run(self):
        if self.form == "batch":
            return fastconv.conv2d(self.x, self.w, stride=self.s, algorithm="im2col")
        return [fastconv.conv2d(self.x[i:i + 1], self.w, stride=self.s, algorithm="im2col")
                for i in range(8)][-1]

    def time_im2col_folded_batch(self, layer, form, dtype, threads):
        self._run()


#: name -> (C_in, C_out, map size) of 1 x 1 layers with a few output channels
#: (MobileNetV2's and EfficientNet-B0's first projection, U-Net's classifier).
FEW_OUTPUT_CHANNEL_LAYERS = {
    "1x1_32_16_112": (32, 16, common.pick(112, 56)),
    "1x1_64_2_388": (64, 2, common.pick(388, 97)),
    "1x1_24_58_28": (24, 58, 28),
}


class Im2colFewOutputChannels:
    """``conv2d`` (``"auto"``: im2col) of 1 x 1 layers whose output channels
    leave the GEMM's last row panel part full (16 = 6 + 6 + 4, 2, 58 = 9 x 6 + 4):
    that panel runs a kernel compiled for its row count."""

    params = (tuple(FEW_OUTPUT_CHANNEL_LAYERS), common.DTYPES, common.THREADS)
    param_names = ("layer", "dtype", "threads")
    repeat = (3, 10, 20.0)
    timeout = 300

    def setup(self, layer, dtype, threads):
        common.set_threads(threads)
        ci, co, hw = FEW_OUTPUT_CHANNEL_LAYERS[layer]
        self.x = common.random_array((1, ci, hw, hw), dtype, seed=0)
        self.w = common.random_array((co, ci, 1, 1), dtype, seed=1)
        common.check_call(self._run, "auto")

    def teardown(self, *args):
        common.restore_threads()

    def _run(self):
        return fastconv.conv2d(self.x, self.w)

    def time_im2col_few_output_channels(self, layer, dtype, threads):
        self._run()
