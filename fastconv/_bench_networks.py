"""Whole-network suites of ``python -m fastconv bench``.

``python -m fastconv bench --suite networks`` runs every convolution layer
(forward pass, batch 1, float32 unless the suite says otherwise) of published
architectures at their usual input sizes; ``--suite NAME`` runs one network
(:data:`NETWORKS` lists them). The layer tables are data: each network is
written down as the compact configuration table of its paper (cited beside
it) and expanded into its convolution layers by a few lines of code; a shape
that occurs several times is timed once and weighted by its count.

For every distinct layer the suite times, interleaved in the same process
(a round of each implementation, then the next round, the minimum kept):

* ``fastconv/auto``: the public function (``fastconv.conv2d``, ...) with
  ``algorithm="auto"``;
* ``fastconv/plan``: a plan (:func:`fastconv.plan_conv2d`, ...) made once
  beforehand (transposed convolutions have no plan: their plan time is the
  plain call's);
* ``torch``: PyTorch's ``torch.nn.functional`` convolution (``no_grad``)
  with the same thread count, when PyTorch is installed.

Every fastconv result is checked: against PyTorch's result when PyTorch is
installed (same dtype, tolerance relative to ``max|torch|``), else against
:mod:`fastconv.reference` on a few output channels of the first and the last
group (the float64 definition is slow on whole layers). The network totals
(sum over layers of count x time) and their ratios go to the JSON metadata
under ``"networks"``.
"""
import math
import time
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

import fastconv
from fastconv import _bench, reference

#: Largest error relative to ``max|oracle|`` a fastconv result may show
#: (PyTorch's float32 result carries its own rounding).
TOLERANCE = {"float32": 2e-4, "float64": 1e-10}
#: Seconds one layer's interleaved timing may take after its warm-up: a slow
#: layer gets fewer rounds (at least :data:`MIN_ROUNDS`).
LAYER_BUDGET = 6.0
MIN_ROUNDS = 3
#: Output channels per checked group without PyTorch.
CHECK_CHANNELS = 2

OPS = ("conv1d", "conv2d", "conv3d", "conv_transpose2d", "conv_transpose3d")


@dataclass(frozen=True)
class NetLayer:
    """One convolution of a network: ``op`` of :data:`OPS`, PyTorch's arguments.

    ``spatial`` is the input size; ``kernel``, ``stride``, ``padding`` and
    ``dilation`` apply to every spatial dim. A transposed layer's weight is
    ``(C_in, C_out // groups, *k)``, PyTorch's layout.
    """

    op: str
    c_in: int
    c_out: int
    spatial: tuple
    kernel: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1

    @property
    def nd(self):
        return len(self.spatial)

    @property
    def transposed(self):
        return self.op.startswith("conv_transpose")

    @property
    def out_spatial(self):
        span = self.dilation * (self.kernel - 1) + 1
        if self.transposed:
            return tuple((s - 1) * self.stride - 2 * self.padding + span for s in self.spatial)
        return tuple((s + 2 * self.padding - span) // self.stride + 1 for s in self.spatial)

    def weight_shape(self):
        k = (self.kernel,) * self.nd
        if self.transposed:
            return (self.c_in, self.c_out // self.groups) + k
        return (self.c_out, self.c_in // self.groups) + k

    def macs(self, n=1):
        """Multiply-accumulates of the direct definition (batch ``n``)."""
        taps = self.kernel ** self.nd
        if self.transposed:
            return n * self.c_in * math.prod(self.spatial) * (self.c_out // self.groups) * taps
        return n * self.c_out * math.prod(self.out_spatial) * (self.c_in // self.groups) * taps

    @property
    def name(self):
        """``[up|dw|gG_]KxK[sS][dD][pP]_CIN_COUT_SIZE`` (``dw``: depthwise,
        ``up``: transposed; ``p`` only where the padding is not ``k // 2``)."""
        k = "x".join([str(self.kernel)] * self.nd) if self.nd > 1 else f"k{self.kernel}"
        prefix = "up" if self.transposed else ""
        if not self.transposed and self.groups > 1:
            prefix = "dw" if self.groups == self.c_in == self.c_out else f"g{self.groups}_"
        s = f"s{self.stride}" if self.stride > 1 else ""
        d = f"d{self.dilation}" if self.dilation > 1 else ""
        p = ""
        if not self.transposed and self.padding != self.dilation * (self.kernel // 2):
            p = f"p{self.padding}"
        size = (str(self.spatial[0]) if len(set(self.spatial)) == 1
                else "x".join(map(str, self.spatial)))
        channels = (f"{self.c_in}" if prefix == "dw" else f"{self.c_in}_{self.c_out}")
        return f"{prefix}{k}{s}{d}{p}_{channels}_{size}"

    def describe(self):
        size = "x".join(map(str, self.spatial))
        return (f"{self.op} C_in={self.c_in} C_out={self.c_out} {size} k={self.kernel} "
                f"s={self.stride} p={self.padding} d={self.dilation} g={self.groups}")


def _conv(c_in, c_out, size, k, stride=1, padding=None, groups=1, dilation=1, nd=2):
    if padding is None:
        padding = dilation * (k // 2)
    spatial = (size,) * nd if isinstance(size, int) else tuple(size)
    return NetLayer(f"conv{len(spatial)}d", c_in, c_out, spatial, k, stride, padding, dilation,
                    groups)


def _out(size, k, stride, padding):
    return (size + 2 * padding - k) // stride + 1


# --------------------------------------------------------------------------
# The architectures.
# --------------------------------------------------------------------------

#: ResNet-50: He, Zhang, Ren and Sun, "Deep Residual Learning for Image
#: Recognition", CVPR 2016, Table 1 (50-layer column): (bottleneck width,
#: blocks) per stage; stride 2 on each stage's first 3x3 (the torchvision
#: "v1.5" placement, what users run) and a 1x1 projection on its shortcut.
RESNET50_STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))


def resnet(stages=RESNET50_STAGES, groups=1, width_per_group=64, size=224):
    """ResNet-50, or ResNeXt with ``groups`` and ``width_per_group``."""
    layers = [_conv(3, 64, size, 7, 2, 3)]
    size = _out(_out(size, 7, 2, 3), 3, 2, 1)          # the stem, then 3x3/2 max pooling
    c_in = 64
    for planes, blocks, stride in stages:
        mid = planes * width_per_group // 64 * groups
        c_out = planes * 4
        for b in range(blocks):
            s = stride if b == 0 else 1
            o = _out(size, 3, s, 1)
            layers += [_conv(c_in, mid, size, 1), _conv(mid, mid, size, 3, s, 1, groups),
                       _conv(mid, c_out, o, 1)]
            if b == 0:
                layers.append(_conv(c_in, c_out, size, 1, s, 0))
            c_in, size = c_out, o
    return layers


#: ResNeXt-50 (32x4d): Xie, Girshick, Dollar, Tu and He, "Aggregated Residual
#: Transformations for Deep Neural Networks", CVPR 2017, Table 1: ResNet-50's
#: stages with 32 groups of 4 channels in the first stage's 3x3 (128 wide),
#: doubling per stage.
def resnext50_32x4d():
    return resnet(groups=32, width_per_group=4)


#: MobileNetV2: Sandler, Howard, Zhu, Zhmoginov and Chen, "MobileNetV2:
#: Inverted Residuals and Linear Bottlenecks", CVPR 2018, Table 2:
#: (expansion t, channels c, repeats n, stride s) of the bottleneck stages.
MOBILENETV2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                      (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenetv2(size=224):
    layers = [_conv(3, 32, size, 3, 2, 1)]
    size, c_in = _out(size, 3, 2, 1), 32
    for t, c, n, s in MOBILENETV2_STAGES:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = c_in * t
            if t != 1:
                layers.append(_conv(c_in, hidden, size, 1))
            o = _out(size, 3, stride, 1)
            layers += [_conv(hidden, hidden, size, 3, stride, 1, hidden),
                       _conv(hidden, c, o, 1)]
            c_in, size = c, o
    layers.append(_conv(c_in, 1280, size, 1))
    return layers


#: EfficientNet-B0: Tan and Le, "EfficientNet: Rethinking Model Scaling for
#: Convolutional Neural Networks", ICML 2019, Table 1: (expansion, kernel,
#: stride, channels, repeats) of the MBConv stages. Each block's
#: squeeze-and-excitation has two 1x1 convolutions on the pooled 1x1 map
#: (input channels / 4 wide, as in the reference implementation).
EFFICIENTNET_B0_STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2),
                          (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4),
                          (6, 3, 1, 320, 1))


def efficientnet_b0(size=224):
    layers = [_conv(3, 32, size, 3, 2, 1)]
    size, c_in = _out(size, 3, 2, 1), 32
    for e, k, s, c, n in EFFICIENTNET_B0_STAGES:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = c_in * e
            squeeze = max(1, c_in // 4)
            if e != 1:
                layers.append(_conv(c_in, hidden, size, 1))
            o = _out(size, k, stride, k // 2)
            layers += [_conv(hidden, hidden, size, k, stride, k // 2, hidden),
                       _conv(hidden, squeeze, 1, 1), _conv(squeeze, hidden, 1, 1),
                       _conv(hidden, c, o, 1)]
            c_in, size = c, o
    layers.append(_conv(c_in, 1280, size, 1))
    return layers


#: VGG-16: Simonyan and Zisserman, "Very Deep Convolutional Networks for
#: Large-Scale Image Recognition", ICLR 2015, Table 1, configuration D (3x3
#: convolutions of these widths, "M": 2x2 max pooling).
VGG16_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                512, 512, 512, "M")


def vgg16(size=224):
    layers, c_in = [], 3
    for v in VGG16_CONFIG:
        if v == "M":
            size //= 2
        else:
            layers.append(_conv(c_in, v, size, 3))
            c_in = v
    return layers


#: ShuffleNetV2 1.0x: Ma, Zhang, Zheng and Sun, "ShuffleNet V2: Practical
#: Guidelines for Efficient CNN Architecture Design", ECCV 2018, Table 5:
#: (output channels, units) of stages 2-4; a stage's first unit has stride 2
#: and two branches, the others work on half of the channels.
SHUFFLENETV2_STAGES = ((116, 4), (232, 8), (464, 4))


def shufflenetv2(size=224):
    layers = [_conv(3, 24, size, 3, 2, 1)]
    size = _out(_out(size, 3, 2, 1), 3, 2, 1)       # the stem, then 3x3/2 max pooling
    c_in = 24
    for c_out, units in SHUFFLENETV2_STAGES:
        half = c_out // 2
        o = _out(size, 3, 2, 1)
        layers += [_conv(c_in, c_in, size, 3, 2, 1, c_in), _conv(c_in, half, o, 1),
                   _conv(c_in, half, size, 1), _conv(half, half, size, 3, 2, 1, half),
                   _conv(half, half, o, 1)]
        for _ in range(units - 1):
            layers += [_conv(half, half, o, 1), _conv(half, half, o, 3, 1, 1, half),
                       _conv(half, half, o, 1)]
        c_in, size = c_out, o
    layers.append(_conv(c_in, 1024, size, 1))
    return layers


#: U-Net: Ronneberger, Fischer and Brox, "U-Net: Convolutional Networks for
#: Biomedical Image Segmentation", MICCAI 2015, Fig. 1: unpadded 3x3
#: convolutions, five levels of these widths, 2x2 stride-2 up-convolutions
#: (transposed) halving the channels, a final 1x1 to 2 classes; a 572x572
#: one-channel input.
UNET_WIDTHS = (64, 128, 256, 512, 1024)


def unet(size=572):
    layers, c_in = [], 1
    for i, c in enumerate(UNET_WIDTHS):
        layers += [_conv(c_in, c, size, 3, 1, 0), _conv(c, c, size - 2, 3, 1, 0)]
        size, c_in = size - 4, c
        if i < len(UNET_WIDTHS) - 1:
            size //= 2
    for c in reversed(UNET_WIDTHS[:-1]):
        layers.append(NetLayer("conv_transpose2d", c_in, c, (size, size), 2, 2))
        size *= 2
        layers += [_conv(2 * c, c, size, 3, 1, 0), _conv(c, c, size - 2, 3, 1, 0)]
        size, c_in = size - 4, c
    layers.append(_conv(c_in, 2, size, 1))
    return layers


#: A 1-D temporal convolution network for 16 kHz audio, after Bai, Kolter and
#: Koltun, "An Empirical Evaluation of Generic Convolutional and Recurrent
#: Networks for Sequence Modeling", 2018: a front end of a 9-tap and a
#: 7-tap stride-4 convolution (one second: 16000 samples, 64 channels in),
#: a residual stack of dilated 3-tap convolutions (two per block, dilation
#: 1, 2, ..., 128, non-causal "same" padding) at 128 channels, and two
#: wide output convolutions of 7 and 9 taps.
TCN_DILATIONS = (1, 2, 4, 8, 16, 32, 64, 128)


def tcn(length=16000):
    layers = [_conv(64, 64, length, 9, nd=1), _conv(64, 128, length, 7, 4, 3, nd=1)]
    length = _out(length, 7, 4, 3)
    for d in TCN_DILATIONS:
        layers += [_conv(128, 128, length, 3, dilation=d, nd=1)] * 2
    layers += [_conv(128, 256, length, 7, nd=1), _conv(256, 256, length, 9, nd=1)]
    return layers


#: The top level of a 3-D U-Net at 64^3: Cicek, Abdulkadir, Lienkamp, Brox and
#: Ronneberger, "3D U-Net: Learning Dense Volumetric Segmentation from Sparse
#: Annotation", MICCAI 2016, Fig. 1, with half of its widths (16 and 32 on
#: the top level, 64 below) and padded ("same") 3x3x3 convolutions: the
#: analysis side's two convolutions, the 2x2x2 stride-2 up-convolution from
#: the level below and the synthesis side's two convolutions after the
#: concatenation.
def unet3d_block(size=64):
    return [_conv(1, 16, size, 3, nd=3), _conv(16, 32, size, 3, nd=3),
            NetLayer("conv_transpose3d", 64, 64, (size // 2,) * 3, 2, 2),
            _conv(96, 32, size, 3, nd=3), _conv(32, 32, size, 3, nd=3)]


@dataclass(frozen=True)
class Network:
    """One suite: a network's layers at a batch size and a dtype."""

    name: str
    title: str
    build: object
    n: int = 1
    dtype: str = "float32"

    def layers(self):
        """``[(layer, count), ...]``: distinct shapes, in order of first occurrence."""
        return list(Counter(self.build()).items())


NETWORKS = (
    Network("resnet50", "ResNet-50, 224x224", resnet),
    Network("mobilenetv2", "MobileNetV2, 224x224", mobilenetv2),
    Network("efficientnet_b0", "EfficientNet-B0, 224x224", efficientnet_b0),
    Network("vgg16", "VGG-16, 224x224", vgg16),
    Network("resnext50_32x4d", "ResNeXt-50 32x4d, 224x224", resnext50_32x4d),
    Network("shufflenetv2", "ShuffleNetV2 1.0x, 224x224", shufflenetv2),
    Network("unet", "U-Net, 572x572, 1 channel", unet),
    Network("tcn", "1-D TCN, 16000 samples", tcn),
    Network("unet3d", "3-D U-Net top level, 64^3", unet3d_block),
    Network("resnet50_b8", "ResNet-50, 224x224", resnet, n=8),
    Network("mobilenetv2_b8", "MobileNetV2, 224x224", mobilenetv2, n=8),
    Network("resnet50_f64", "ResNet-50, 224x224", resnet, dtype="float64"),
)
NETWORK_BY_NAME = {net.name: net for net in NETWORKS}
SUITES = ("networks",) + tuple(NETWORK_BY_NAME)


def suite_networks(name):
    return list(NETWORKS) if name == "networks" else [NETWORK_BY_NAME[name]]


def _selected(net, args):
    """The network's ``(layer, count)`` pairs, filtered by ``--layers`` substrings."""
    pairs = net.layers()
    patterns = getattr(args, "layers", None)
    if patterns:
        pairs = [(lay, c) for lay, c in pairs if any(p in lay.name for p in patterns)]
    return pairs


def list_suite(name, args, emit):
    for net in suite_networks(name):
        pairs = _selected(net, args)
        gmacs = sum(c * lay.macs(net.n) for lay, c in pairs) / 1e9
        emit(f"{net.name}: {net.title}, batch {net.n}, {net.dtype}: {len(pairs)} distinct "
             f"layers, {sum(c for _, c in pairs)} in all, {gmacs:.2f} GMAC")
        for lay, count in pairs:
            emit(f"  {lay.name:28} x{count:<3} {lay.describe()}")


# --------------------------------------------------------------------------
# Inputs, calls and checks.
# --------------------------------------------------------------------------

def make_inputs(layer, n, dtype):
    """Deterministic input, weight (scaled by 1/sqrt(fan-in)) and bias."""
    rng = np.random.default_rng(zlib.crc32(f"{layer.name}/{n}/{dtype}".encode()))
    x = rng.standard_normal((n, layer.c_in) + layer.spatial, dtype=np.float64).astype(dtype)
    ws = layer.weight_shape()
    w = (rng.standard_normal(ws) / math.sqrt(math.prod(ws[1:]))).astype(dtype)
    b = rng.standard_normal(layer.c_out).astype(dtype)
    return x, w, b


def _geometry(layer):
    return dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
                groups=layer.groups)


def fastconv_call(layer, x, w, b):
    fn = getattr(fastconv, f"{layer.op}")
    geometry = _geometry(layer)
    return lambda: fn(x, w, b, **geometry)


def plan_call(layer, x, w, b):
    """A plan made now (outside the timing), or None for a transposed layer."""
    if layer.transposed:
        return None
    plan = getattr(fastconv, f"plan_conv{layer.nd}d")(w, x.shape, b, **_geometry(layer))
    return lambda: plan(x)


def torch_call(torch, layer, x, w, b):
    F = torch.nn.functional
    tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))
    fn = getattr(F, layer.op)
    geometry = _geometry(layer)

    def call():
        with torch.no_grad():
            return fn(tx, tw, tb, **geometry)
    return call


def reference_subset(layer, x, w, b):
    """Output channels of the first and last group from :mod:`fastconv.reference`
    (float64): ``(channel indices, values)``."""
    groups = layer.groups
    cog = layer.c_out // groups
    cig = layer.c_in // groups
    picks = sorted({0, groups - 1})
    channels, parts = [], []
    for g in picks:
        sel = list(range(g * cog, g * cog + min(CHECK_CHANNELS, cog)))
        xs = x[:, g * cig:(g + 1) * cig].astype(np.float64)
        if layer.transposed:
            ws = w[g * cig:(g + 1) * cig, :len(sel)]
            fn = getattr(reference, layer.op)
            y = fn(xs, ws, b[sel], stride=layer.stride, padding=layer.padding,
                   dilation=layer.dilation)
        else:
            y = reference.conv_nd(xs, w[sel], b[sel], stride=layer.stride,
                                  padding=layer.padding, dilation=layer.dilation)
        channels += sel
        parts.append(y)
    return channels, np.concatenate(parts, axis=1)


def check(result, expected, channels=None):
    """``max|result - expected| / max|expected|`` (on ``channels`` when given)."""
    result = np.asarray(result)
    if channels is not None:
        result = result[:, channels]
    return _bench.relative_error(result, np.asarray(expected, dtype=np.float64))


# --------------------------------------------------------------------------
# Timing.
# --------------------------------------------------------------------------

def time_interleaved(calls, repeat, min_timing, budget=LAYER_BUDGET):
    """Time several functions in alternation: ``{key: (first result, [timings])}``.

    Each function is called once (its result kept) and, when that call was
    shorter than ``min_timing``, once more to size its timings; then rounds
    follow, each timing every function once in turn: the fastest of
    ``inner`` consecutive calls, ``inner`` chosen so a timing lasts about
    ``min_timing`` (the convention of :func:`fastconv._bench.time_call`). A
    busy machine slows whichever implementation runs at that moment, so
    alternating them keeps their ratio fair. ``repeat`` rounds, fewer (at
    least :data:`MIN_ROUNDS`) when they would take longer than ``budget``
    seconds.
    """
    results, inner, times = {}, {}, {}
    for key, fn in calls.items():
        start = time.perf_counter()
        results[key] = fn()
        first = time.perf_counter() - start
        if first < min_timing:
            start = time.perf_counter()
            fn()
            first = time.perf_counter() - start
        inner[key] = max(1, min(_bench.MAX_INNER, math.ceil(min_timing / max(first, 1e-7))))
        times[key] = [first] if inner[key] == 1 else []
    per_round = sum(max(min_timing, times[k][0] if times[k] else 0.0) for k in calls)
    rounds = max(min(repeat, MIN_ROUNDS), min(repeat, int(budget / max(per_round, 1e-9))))
    for _ in range(rounds):
        for key, fn in calls.items():
            best = math.inf
            for _ in range(inner[key]):
                start = time.perf_counter()
                fn()
                best = min(best, time.perf_counter() - start)
            times[key].append(best)
    return {key: (results[key], times[key]) for key in calls}


# --------------------------------------------------------------------------
# Running a network.
# --------------------------------------------------------------------------

def _record(net, layer, count, impl, library, algorithm):
    return {
        "layer": layer.name, "network": net.name, "suite": net.name, "count": count,
        "impl": impl, "library": library, "algorithm": algorithm, "op": layer.op,
        "dtype": net.dtype, "n": net.n, "c_in": layer.c_in, "c_out": layer.c_out,
        "spatial": list(layer.spatial), "kernel": layer.kernel, "stride": layer.stride,
        "padding": layer.padding, "dilation": layer.dilation, "groups": layer.groups,
        "bias": True, "output_shape": [net.n, layer.c_out] + list(layer.out_spatial),
        "flops": 2 * layer.macs(net.n), "applicable": True, "status": None, "error": None,
        "time_min_s": None, "time_median_s": None, "times_s": [], "inner_loops": None,
        "gflops": None, "ratio_to_best_peer": None, "best_peer": None, "baseline": None,
        "ratio_to_baseline": None, "rel_error": None, "tolerance": TOLERANCE[net.dtype],
        "checked": False, "passed": None,
    }


def run_layer(net, layer, count, args, torch):
    """Time and check one distinct layer: its records (fastconv rows first)."""
    x, w, b = make_inputs(layer, net.n, net.dtype)
    recs = {"fastconv/auto": _record(net, layer, count, "fastconv/auto", "fastconv", "auto"),
            "fastconv/plan": _record(net, layer, count, "fastconv/plan", "fastconv", "auto")}
    calls = {}
    try:
        calls["fastconv/auto"] = fastconv_call(layer, x, w, b)
        plan = plan_call(layer, x, w, b)
        if plan is None:
            recs["fastconv/plan"].update(status="n/a", applicable=False,
                                         error="transposed convolutions have no plan")
        else:
            calls["fastconv/plan"] = plan
    except Exception as exc:           # reported in the table, not raised
        for key in ("fastconv/auto", "fastconv/plan"):
            if recs[key]["status"] is None:
                recs[key].update(status="ERROR", passed=False,
                                 error=f"{type(exc).__name__}: {exc}")
        return list(recs.values())
    if torch is not None:
        recs["torch"] = _record(net, layer, count, "torch", "torch", None)
        calls = {"torch": torch_call(torch, layer, x, w, b), **calls}
    try:
        timed = time_interleaved(calls, args.repeat, args.min_timing)
    except Exception as exc:
        for key in calls:
            recs[key].update(status="ERROR", passed=False, error=f"{type(exc).__name__}: {exc}")
        return list(recs.values())
    oracle, channels = None, None
    if args.check:
        if torch is not None:
            oracle = timed["torch"][0].numpy().astype(np.float64)
        else:
            channels, oracle = reference_subset(layer, x, w, b)
    peer = None
    if "torch" in timed:
        peer = min(timed["torch"][1])
    for key, (result, times) in timed.items():
        r = recs[key]
        best = min(times)
        r.update(time_min_s=best, time_median_s=float(np.median(times)), times_s=times,
                 inner_loops=None, repeat=len(times), gflops=r["flops"] / best / 1e9)
        if key == "torch":
            r["status"] = "ok"
            continue
        if peer is not None:
            r["ratio_to_best_peer"], r["best_peer"] = best / peer, "torch"
        if oracle is None:
            r["status"] = "unchecked"
            continue
        err = check(result, oracle, channels)
        ok = (err <= r["tolerance"] and np.asarray(result).dtype == np.dtype(net.dtype))
        r.update(checked=True, rel_error=err if math.isfinite(err) else None, passed=bool(ok),
                 status="ok" if ok else "FAIL")
    if recs["fastconv/plan"]["time_min_s"] is not None:
        recs["fastconv/plan"]["baseline"] = "fastconv/auto"
        recs["fastconv/plan"]["ratio_to_baseline"] = (recs["fastconv/plan"]["time_min_s"]
                                                      / recs["fastconv/auto"]["time_min_s"])
    return list(recs.values())


def totals(net, records):
    """Count-weighted sums of the times: ``{"auto_s", "plan_s", "torch_s", ratios}``
    (a layer without a plan counts its plain call in ``plan_s``)."""
    by = {}
    for r in records:
        if r["network"] == net.name:
            by.setdefault(r["layer"], {})[r["impl"]] = r
    out = {"title": net.title, "n": net.n, "dtype": net.dtype, "layers": len(by),
           "convolutions": sum(next(iter(v.values()))["count"] for v in by.values()),
           "gflop": sum(2 * lay.macs(net.n) * c for lay, c in net.layers()
                        if lay.name in by) / 1e9}
    for key, impl in (("auto_s", "fastconv/auto"), ("plan_s", "fastconv/plan"),
                      ("torch_s", "torch")):
        total = 0.0
        for recs in by.values():
            r = recs.get(impl)
            if impl == "fastconv/plan" and (r is None or r["time_min_s"] is None):
                r = recs.get("fastconv/auto")
            if r is None or r["time_min_s"] is None:
                total = None
                break
            total += r["count"] * r["time_min_s"]
        out[key] = total
    for key in ("auto", "plan"):
        ok = out[f"{key}_s"] is not None and out["torch_s"]
        out[f"ratio_{key}"] = out[f"{key}_s"] / out["torch_s"] if ok else None
    return out


_COLUMNS = (("layer", 28, "<"), ("count", 5, ">"), ("auto ms", 9, ">"), ("plan ms", 9, ">"),
            ("torch ms", 9, ">"), ("ratio", 6, ">"), ("plan r.", 7, ">"), ("rel.err", 8, ">"),
            ("status", 6, "<"))


def _row(values):
    return "  ".join(f"{v:{a}{w}}" for v, (_, w, a) in zip(values, _COLUMNS)).rstrip()


def _ms(r):
    return "" if r is None or r["time_min_s"] is None else f"{r['time_min_s'] * 1e3:.3f}"


def format_layer(recs):
    by = {r["impl"]: r for r in recs}
    auto, plan, peer = by["fastconv/auto"], by["fastconv/plan"], by.get("torch")
    ratio = "" if auto["ratio_to_best_peer"] is None else f"{auto['ratio_to_best_peer']:.2f}"
    pr = "" if plan["ratio_to_best_peer"] is None else f"{plan['ratio_to_best_peer']:.2f}"
    errs = [r["rel_error"] for r in (auto, plan) if r["rel_error"] is not None]
    status = ",".join(sorted({r["status"] for r in (auto, plan) if r["status"] != "n/a"}))
    line = _row([auto["layer"], f"x{auto['count']}", _ms(auto), _ms(plan), _ms(peer), ratio,
                 pr, f"{max(errs):.1e}" if errs else "-", status])
    for r in (auto, plan):
        if r["status"] in ("ERROR", "FAIL") and r["error"]:
            line += f"  {r['impl']}: {r['error']}"
    return line


def format_totals(t):
    def ms(v):
        return "" if v is None else f"{v * 1e3:.2f}"

    ratio = "" if t["ratio_auto"] is None else f"{t['ratio_auto']:.2f}"
    pr = "" if t["ratio_plan"] is None else f"{t['ratio_plan']:.2f}"
    return _row(["total", t["convolutions"], ms(t["auto_s"]), ms(t["plan_s"]), ms(t["torch_s"]),
                 ratio, pr, "", ""])


def run_suite(name, args, emit):
    torch = _bench.import_optional("torch") if args.peers else None
    if torch is not None:
        torch.set_num_threads(args.threads)       # _bench.run restores the previous count
    records, summary, cache = [], {}, {}
    for net in suite_networks(name):
        pairs = _selected(net, args)
        emit()
        emit(f"network {net.name}: {net.title}, batch {net.n}, {net.dtype}, "
             f"{len(pairs)} distinct layers ({sum(c for _, c in pairs)} convolutions)")
        emit(_row([c[0] for c in _COLUMNS]))
        emit(_row(["-" * c[1] for c in _COLUMNS]))
        net_records = []
        for layer, count in pairs:
            key = (layer, net.n, net.dtype)
            if key in cache:       # the same layer in another network: its timings
                recs = [dict(r, network=net.name, suite=net.name, count=count)
                        for r in cache[key]]
            else:
                recs = run_layer(net, layer, count, args, torch)
                cache[key] = recs
            for r in recs:
                r["threads"] = args.threads
            emit(format_layer(recs))
            net_records += recs
        summary[net.name] = totals(net, net_records)
        emit(format_totals(summary[net.name]))
        records += net_records
    emit()
    emit("ratio: fastconv/auto time / PyTorch time (plan r.: a plan made beforehand); "
         "total: sum of count x time")
    if len(summary) > 1:
        emit()
        emit(f"{'network':18} {'auto ms':>10} {'plan ms':>10} {'torch ms':>10} {'ratio':>6} "
             f"{'plan r.':>7}")
        for net_name, t in summary.items():
            def ms(v):
                return "" if v is None else f"{v * 1e3:.1f}"
            r1 = "" if t["ratio_auto"] is None else f"{t['ratio_auto']:.2f}"
            r2 = "" if t["ratio_plan"] is None else f"{t['ratio_plan']:.2f}"
            emit(f"{net_name:18} {ms(t['auto_s']):>10} {ms(t['plan_s']):>10} "
                 f"{ms(t['torch_s']):>10} {r1:>6} {r2:>7}")
    return records, {"networks": summary}
