"""The benchmark suite behind ``python -m fastconv bench``.

It times every operation of fastconv on a fixed set of typical problems, next
to the same operation in the libraries a NumPy user would otherwise reach for
(PyTorch, SciPy, OpenCV, NumPy) when they are installed:

* ``conv1d`` / ``conv2d`` / ``conv3d``: ResNet-style 3 x 3 and 1 x 1 layers,
  strided, depthwise, grouped and dilated ones, a long 1-D sequence, a 3-D
  volume, float32 and float64; every 3 x 3 layer also gets a ``fastconv/plan``
  row (a :func:`fastconv.plan_conv2d` plan made once, outside the timing);
* ``conv_transpose2d``: :func:`fastconv.conv_transpose2d` against PyTorch;
* ``separable2d``: :func:`fastconv.separable_conv2d` (fused) against two
  PyTorch convolutions, with a ``fastconv/2calls`` row (the depthwise and the
  pointwise convolution as two :func:`fastconv.conv2d` calls);
* ``octave2d``: :func:`fastconv.octave_conv2d` with alpha = 0.5 against
  PyTorch's composition of convolutions, pooling and upsampling, with a
  ``fastconv/conv2d-128`` row (the ordinary convolution with the same channel
  counts, which octave convolution should beat);
* ``correlate``: single-channel 1024 x 1024 images filtered by 3 x 3 to
  11 x 11 kernels (:func:`fastconv.correlate`, ``mode="same"``) against
  OpenCV ``filter2D``, ``scipy.ndimage.correlate`` and
  ``scipy.signal.correlate``;
* ``convolve1d``: a signal of 10^6 samples and a 501-tap kernel
  (:func:`fastconv.convolve`, ``mode="full"``) against
  ``scipy.signal.oaconvolve``, ``scipy.signal.fftconvolve`` and
  ``numpy.convolve``;
* ``conv2d_train``: forward and backward pass (:func:`fastconv.conv2d`, then
  ``fastconv.grad.conv2d_input``, ``conv2d_weight`` and ``bias``) against
  PyTorch's autograd.

fastconv runs with every algorithm (:data:`fastconv.ALGORITHMS`, and ``fft``
for the signal operations). An algorithm that does not apply to a problem
(Winograd on a 1 x 1, 5 x 5 or strided layer, ``im2col`` for an image filter)
is reported as ``n/a`` with the reason. Every result is checked against the float64
definitions of :mod:`fastconv.reference` (a result made of several arrays, such
as the two outputs of octave convolution or the four arrays of a training
step, is checked array by array); a fastconv result outside the tolerance of
its dtype is reported as ``FAIL``, a fastconv call that raises as ``ERROR``,
and either makes the exit status 1.

Each row reports the minimum time over ``--repeat`` timings (the median is kept
in the JSON output), the arithmetic rate of the direct definition of the
operation (see :attr:`Layer.flops`), the ratio to the fastest other library in
the same run (below 1 means fastconv is faster), the largest absolute error
relative to the largest absolute value of the reference, and for some rows a
note comparing them with another fastconv row (plan against plain call, fused
against two calls, octave against ordinary convolution).

The suite is plain data (:data:`LAYERS`), so tests can run a single layer::

    from fastconv import _bench
    status = _bench.main(["--quick", "--layers", "resnet3x3_64_56",
                          "--no-peers", "--json", "bench.json"])
"""
import argparse
import datetime
import importlib
import json
import math
import os
import platform
import statistics
import sys
import time
import zlib
from dataclasses import asdict, dataclass

import numpy as np

import fastconv
from fastconv import _dispatch, _signal, _tuning, reference
from fastconv._args import winograd_reason
from fastconv._kernels import _gemm
from fastconv._threads import usable_cores

#: Largest error relative to ``max|reference|`` a fastconv result may show.
TOLERANCE = {"float32": 1e-4, "float64": 1e-10}
#: Tighter tolerances of some operations (``(op, dtype)``): the FFT path of the
#: 1-D convolution must stay within 1e-5 of ``max|result|`` in float32.
OP_TOLERANCE = {("convolve1d", "float32"): 1e-5, ("convolve1d", "float64"): 1e-12}

#: One timing lasts at least this long (seconds): fast calls are repeated
#: inside it and the fastest call is kept.
MIN_TIMING = 0.05
#: The same for ``--quick``.
QUICK_MIN_TIMING = 0.005
#: Upper bound of calls inside one timing.
MAX_INNER = 1000
DEFAULT_REPEAT = 7


#: The operations of the suite (:attr:`Layer.op`).
OPS = ("conv1d", "conv2d", "conv3d", "conv_transpose2d", "separable2d", "octave2d",
       "correlate", "convolve1d", "conv2d_train")
#: Operations computed by :func:`fastconv.correlate` / :func:`fastconv.convolve`.
SIGNAL_OPS = ("correlate", "convolve1d")


@dataclass(frozen=True)
class Layer:
    """One benchmarked operation.

    ``op`` is one of :data:`OPS`:

    ``"conv1d"``, ``"conv2d"``, ``"conv3d"``
        ``fastconv.conv{N}d(x, w, b, ...)``.
    ``"conv_transpose2d"``
        ``fastconv.conv_transpose2d``; ``c_in``/``c_out`` are its input and
        output channels, the weight is ``(C_in, C_out // groups, k, k)``.
    ``"separable2d"``
        ``fastconv.separable_conv2d``: depthwise ``(C_in, 1, k, k)`` (channel
        multiplier 1), pointwise ``(C_out, C_in, 1, 1)``, bias.
    ``"octave2d"``
        ``fastconv.octave_conv2d`` with ``alpha`` of the ``c_in`` input and
        ``c_out`` output channels at half resolution, no bias; ``spatial`` is
        the high-frequency size.
    ``"correlate"``
        a single-channel 2-D image (``spatial``) filtered by one ``k x k``
        kernel, ``mode="same"`` with zero fill (``padding = k // 2``).
    ``"convolve1d"``
        ``fastconv.convolve(signal, kernel, mode="full")``
        (``padding = k - 1``).
    ``"conv2d_train"``
        forward and backward pass of ``conv2d``: output, input, weight and bias
        gradients for a given output gradient.

    ``kernel``, ``stride``, ``padding`` and ``dilation`` apply to every spatial
    dimension.
    """

    name: str
    op: str
    n: int
    c_in: int
    c_out: int
    spatial: tuple
    kernel: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1
    dtype: str = "float32"
    bias: bool = True
    alpha: float = None

    @property
    def nd(self):
        """Number of spatial dimensions."""
        return len(self.spatial)

    @property
    def transposed(self):
        return self.op == "conv_transpose2d"

    @property
    def tolerance(self):
        """Largest error relative to ``max|reference|`` a fastconv result may show."""
        return OP_TOLERANCE.get((self.op, self.dtype), TOLERANCE[self.dtype])

    def octave_channels(self, channels):
        """``(high, low)`` split of ``channels`` for an octave layer."""
        low = int(round(self.alpha * channels))
        return channels - low, low

    @property
    def input_shape(self):
        """Shape of the (high-frequency, for ``octave2d``) input."""
        if self.op == "octave2d":
            return (self.n, self.octave_channels(self.c_in)[0]) + tuple(self.spatial)
        return (self.n, self.c_in) + tuple(self.spatial)

    @property
    def weight_shape(self):
        """PyTorch's layout: ``(C_in, C_out // groups, *k)`` for a transposed convolution,
        the depthwise weight for ``separable2d``, the high-to-high weight for ``octave2d``."""
        kernel = (self.kernel,) * self.nd
        if self.transposed:
            return (self.c_in, self.c_out // self.groups) + kernel
        if self.op == "separable2d":
            return (self.c_in, 1) + kernel
        if self.op == "octave2d":
            return (self.octave_channels(self.c_out)[0],
                    self.octave_channels(self.c_in)[0]) + kernel
        return (self.c_out, self.c_in // self.groups) + kernel

    @property
    def out_spatial(self):
        span = self.dilation * (self.kernel - 1) + 1
        if self.transposed:
            return tuple((s - 1) * self.stride - 2 * self.padding + span for s in self.spatial)
        return tuple((s + 2 * self.padding - span) // self.stride + 1 for s in self.spatial)

    @property
    def output_shape(self):
        """Shape of the (high-frequency, for ``octave2d``) output."""
        if self.op == "octave2d":
            return (self.n, self.octave_channels(self.c_out)[0]) + self.out_spatial
        return (self.n, self.c_out) + self.out_spatial

    @property
    def flops(self):
        """Floating point operations of the direct definition: 2 per multiply-accumulate.

        Whatever the algorithm, the count is that of the definition, taps
        that fall on the zero padding included (so a fast algorithm, FFT or
        Winograd, can exceed the machine's peak):

        * convolution, image filter, 1-D signal:
          ``N * C_out * prod(out_spatial) * (C_in / groups) * prod(kernel)`` MACs;
        * transposed convolution: every input element times every tap of its
          ``C_out / groups`` filters;
        * ``separable2d``: the depthwise stage
          (``N * C_in * prod(out_spatial) * k * k``) plus the pointwise stage
          (``N * C_out * prod(out_spatial) * C_in``);
        * ``octave2d``: the four convolutions, high-to-high at full
          resolution, the three others at half resolution (pooling,
          upsampling and additions not counted);
        * ``conv2d_train``: the forward pass, the input gradient and the
          weight gradient, each with the forward's MACs (3 x forward; the bias
          gradient's additions are not counted).
        """
        taps = self.kernel ** self.nd
        out = math.prod(self.out_spatial)
        if self.transposed:
            return (2 * self.n * self.c_in * math.prod(self.spatial)
                    * (self.c_out // self.groups) * taps)
        if self.op == "separable2d":
            return 2 * self.n * out * (self.c_in * taps + self.c_out * self.c_in)
        if self.op == "octave2d":
            hi_in, lo_in = self.octave_channels(self.c_in)
            hi_out, lo_out = self.octave_channels(self.c_out)
            quarter = out // 4
            return 2 * self.n * taps * (out * hi_out * hi_in
                                        + quarter * (hi_out * lo_in + lo_out * hi_in
                                                     + lo_out * lo_in))
        forward = 2 * self.n * self.c_out * out * (self.c_in // self.groups) * taps
        return 3 * forward if self.op == "conv2d_train" else forward

    def describe(self):
        dims = "x".join(str(s) for s in self.spatial)
        if self.op == "correlate" and self.nd == 1:
            return f"correlate signal {dims} kernel {self.kernel} same {self.dtype}"
        if self.op == "correlate":
            return f"correlate image {dims} kernel {self.kernel}x{self.kernel} same {self.dtype}"
        if self.op == "convolve1d":
            return f"convolve signal {dims} kernel {self.kernel} full {self.dtype}"
        alpha = "" if self.alpha is None else f" alpha={self.alpha}"
        return (f"{self.op} N={self.n} C_in={self.c_in} C_out={self.c_out} {dims} "
                f"k={self.kernel} s={self.stride} p={self.padding} d={self.dilation} "
                f"g={self.groups}{alpha} {self.dtype}")


#: The default suite, in the order it runs.
LAYERS = (
    Layer("resnet3x3_64_56", "conv2d", 1, 64, 64, (56, 56), 3, 1, 1),
    Layer("resnet3x3_256_14", "conv2d", 1, 256, 256, (14, 14), 3, 1, 1),
    Layer("resnet3x3_64_56_b8", "conv2d", 8, 64, 64, (56, 56), 3, 1, 1),
    Layer("pw1x1_256_64_56", "conv2d", 1, 256, 64, (56, 56), 1, 1, 0),
    Layer("s2_3x3_128_56", "conv2d", 1, 128, 128, (56, 56), 3, 2, 1),
    Layer("dw3x3_144_56", "conv2d", 1, 144, 144, (56, 56), 3, 1, 1, groups=144),
    Layer("grp32_3x3_128_56", "conv2d", 1, 128, 128, (56, 56), 3, 1, 1, groups=32),
    Layer("dil2_3x3_64_56", "conv2d", 1, 64, 64, (56, 56), 3, 1, 2, dilation=2),
    Layer("convT4x4s2_64_32_28", "conv_transpose2d", 1, 64, 32, (28, 28), 4, 2, 1),
    Layer("conv1d_64_4096_k3_b8", "conv1d", 8, 64, 64, (4096,), 3, 1, 1),
    Layer("conv3d_32_16x56x56", "conv3d", 1, 32, 32, (16, 56, 56), 3, 1, 1),
    Layer("sep3x3_144_56", "separable2d", 1, 144, 144, (56, 56), 3, 1, 1),
    Layer("octave_a05_128_56", "octave2d", 1, 128, 128, (56, 56), 3, 1, 1, bias=False,
          alpha=0.5),
    Layer("img3x3_1024", "correlate", 1, 1, 1, (1024, 1024), 3, 1, 1, bias=False),
    Layer("img5x5_1024", "correlate", 1, 1, 1, (1024, 1024), 5, 1, 2, bias=False),
    Layer("img7x7_1024", "correlate", 1, 1, 1, (1024, 1024), 7, 1, 3, bias=False),
    Layer("img11x11_1024", "correlate", 1, 1, 1, (1024, 1024), 11, 1, 5, bias=False),
    Layer("signal1e6_k501", "convolve1d", 1, 1, 1, (1_000_000,), 501, 1, 500, bias=False),
    Layer("train_resnet3x3_64_56", "conv2d_train", 1, 64, 64, (56, 56), 3, 1, 1),
    Layer("train_pw1x1_256_64_56", "conv2d_train", 1, 256, 64, (56, 56), 1, 1, 0),
    Layer("resnet3x3_64_56_f64", "conv2d", 1, 64, 64, (56, 56), 3, 1, 1, dtype="float64"),
    Layer("pw1x1_256_64_56_f64", "conv2d", 1, 256, 64, (56, 56), 1, 1, 0, dtype="float64"),
)


# --------------------------------------------------------------------------
# Optional libraries
# --------------------------------------------------------------------------

def import_optional(name):
    try:
        return __import__(name, fromlist=["_"])
    except Exception:  # an installed but broken package counts as absent
        return None


# --------------------------------------------------------------------------
# Machine description
# --------------------------------------------------------------------------

def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _dist_version(module, *distributions):
    """Installed version of a library, without importing it when it is not loaded yet."""
    loaded = sys.modules.get(module)
    if loaded is not None and getattr(loaded, "__version__", None):
        return str(loaded.__version__)
    from importlib.metadata import PackageNotFoundError, version
    for dist in distributions:
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return None


def _load_average():
    """The 1-minute system load average (None where unknown): other work running
    during the benchmark makes its timings unreliable."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def machine_info(threads):
    """Metadata describing this run: machine, threads, library versions."""
    return {
        "cpu": _cpu_model(),
        "usable_cores": usable_cores(),
        "cpu_count": os.cpu_count(),
        "load_average": _load_average(),
        "threads": threads,
        "fastconv_version": fastconv.__version__,
        "isa": fastconv.get_config()["isa"],
        "wisdom_entries": _tuning.count(),
        "numpy_version": np.__version__,
        "torch_version": _dist_version("torch", "torch"),
        "scipy_version": _dist_version("scipy", "scipy"),
        "cv2_version": _dist_version("cv2", "opencv-python-headless", "opencv-python",
                                     "opencv-contrib-python-headless",
                                     "opencv-contrib-python"),
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def header_line(meta):
    isa = f", ISA {meta['isa']}" if meta.get("isa") else ""
    load = "" if meta.get("load_average") is None else f", load {meta['load_average']:.2f}"
    parts = [
        f"machine: {meta['cpu']} ({meta['usable_cores']} usable cores{load})",
        f"threads: {meta['threads']}",
        f"fastconv {meta['fastconv_version']}{isa}",
        f"numpy {meta['numpy_version']}",
        f"torch {meta['torch_version'] or 'not installed'}",
    ]
    return " | ".join(parts)


# --------------------------------------------------------------------------
# Timing and checking
# --------------------------------------------------------------------------

@dataclass
class Timing:
    result: object
    times: list
    inner: int

    @property
    def best(self):
        return min(self.times)

    @property
    def median(self):
        return statistics.median(self.times)


def time_call(fn, repeat, min_timing):
    """Time ``fn()``: two warm-up calls, then ``repeat`` timings.

    Each timing is the fastest of ``inner`` consecutive calls, with ``inner``
    chosen from the second warm-up call (the first one may pay for one-time
    set-up: caches, thread pools, lazily created plans) so that one timing lasts
    about ``min_timing`` seconds. The first call's result is returned for
    checking.
    """
    result = fn()
    inner = _inner_calls(fn, min_timing)
    return Timing(result, [_best_of(fn, inner) for _ in range(repeat)], inner)


def _inner_calls(fn, min_timing):
    """Calls per timing: enough that one timing of ``fn`` lasts about
    ``min_timing`` seconds, judged from one (warm) call."""
    start = time.perf_counter()
    fn()
    warm = time.perf_counter() - start
    return max(1, min(MAX_INNER, math.ceil(min_timing / max(warm, 1e-7))))


def _best_of(fn, inner):
    """One timing: the fastest of ``inner`` consecutive calls of ``fn``."""
    best = math.inf
    for _ in range(inner):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best



def time_interleaved(fns, repeat, min_timing):
    """Time several functions in alternation: each round takes one timing
    of each (as :func:`time_call` takes them), so a change of the machine's
    load during the rounds weighs on all of them alike. Returns one
    :class:`Timing` per function."""
    inner = []
    for fn in fns:
        fn()
        inner.append(_inner_calls(fn, min_timing))
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, n, out in zip(fns, inner, times):
            out.append(_best_of(fn, n))
    return [Timing(None, t, n) for t, n in zip(times, inner)]


def time_once(fn):
    """Time a single call of a slow ``fn()`` (no warm-up, one timing of one call)."""
    start = time.perf_counter()
    result = fn()
    return Timing(result, [time.perf_counter() - start], 1)


def _parts(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def relative_error(result, expected):
    """``max|result - expected| / max|expected|``, computed in float64 (inf on a shape mismatch).

    ``result`` and ``expected`` may be lists of arrays (the outputs of one
    call): each array is compared with its own scale and the largest error is
    returned.
    """
    if isinstance(expected, (list, tuple)):
        results = _parts(result)
        if len(results) != len(expected):
            return math.inf
        return max((relative_error(r, e) for r, e in zip(results, expected)), default=0.0)
    result = np.asarray(result)
    if result.shape != expected.shape:
        return math.inf
    if expected.size == 0:
        return 0.0
    scale = float(np.max(np.abs(expected)))
    diff = np.abs(result.astype(np.float64) - expected)
    err = float(np.max(diff)) if np.all(np.isfinite(diff)) else math.inf
    return err / scale if scale > 0 else err


def _wrong_dtype(result, dtype):
    """The first dtype among the result's arrays that is not ``dtype``, else None."""
    for part in _parts(result):
        part_dtype = np.asarray(part).dtype
        if part_dtype != np.dtype(dtype):
            return part_dtype
    return None


# --------------------------------------------------------------------------
# Data and reference results
# --------------------------------------------------------------------------

def _random(rng, shape, dtype, fan_in=None):
    a = rng.standard_normal(shape)
    if fan_in:
        a /= math.sqrt(fan_in)
    return a.astype(dtype)


def make_inputs(layer):
    """Deterministic inputs of the layer's dtype, as a dict of arrays.

    Every operation has ``x`` (input), ``w`` (weight; the depthwise weight for
    ``separable2d``, the high-to-high weight for ``octave2d``) and ``b`` (bias
    or None); ``separable2d`` adds ``pw`` (pointwise weight), ``octave2d``
    ``xl`` (low-frequency input) and ``whl``, ``wlh``, ``wll``, and
    ``conv2d_train`` ``g`` (the output gradient). The weights are scaled by
    ``1 / sqrt(fan_in)`` so the outputs stay of order one, as in a trained
    network.
    """
    rng = np.random.default_rng(zlib.crc32(layer.name.encode()))
    dtype = np.dtype(layer.dtype)
    taps = layer.kernel ** layer.nd
    data = {"x": rng.standard_normal(layer.input_shape, dtype=dtype)}
    if layer.op == "octave2d":
        hi_in, lo_in = layer.octave_channels(layer.c_in)
        hi_out, lo_out = layer.octave_channels(layer.c_out)
        k = (layer.kernel,) * 2
        low = tuple(s // 2 for s in layer.spatial)
        data["xl"] = rng.standard_normal((layer.n, lo_in) + low, dtype=dtype)
        fan_in = layer.c_in * taps   # each output sums two paths
        for key, shape in (("w", (hi_out, hi_in)), ("whl", (lo_out, hi_in)),
                           ("wlh", (hi_out, lo_in)), ("wll", (lo_out, lo_in))):
            data[key] = _random(rng, shape + k, dtype, fan_in)
    else:
        data["w"] = _random(rng, layer.weight_shape, dtype, math.prod(layer.weight_shape[1:]))
    if layer.op == "separable2d":
        data["pw"] = _random(rng, (layer.c_out, layer.c_in, 1, 1), dtype, layer.c_in)
    data["b"] = rng.standard_normal(layer.c_out).astype(dtype) if layer.bias else None
    if layer.op == "conv2d_train":
        data["g"] = rng.standard_normal(layer.output_shape, dtype=dtype)
    return data


def _reference_octave(layer, d):
    """Octave convolution in float64: ``[y_high, y_low]``."""
    return list(reference.octave_conv2d(d["x"], d["xl"], d["w"], d["whl"], d["wlh"], d["wll"],
                                        None, None, stride=layer.stride,
                                        padding=layer.padding))


def _reference_train(layer, d):
    """``[y, grad_input, grad_weight(, grad_bias)]`` in float64."""
    geometry = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
                    groups=layer.groups)
    x, w, b, g = d["x"], d["w"], d["b"], d["g"]
    grad = reference.grad
    parts = [reference.conv_nd(x, w, b, **geometry),
             grad.conv2d_input(x.shape, w, g, **geometry),
             grad.conv2d_weight(x, w.shape, g, **geometry)]
    if b is not None:
        parts.append(grad.bias(g))
    return parts


def _reference_signal(d):
    """The full 1-D convolution in float64 (SciPy's FFT convolution, else NumPy's)."""
    sig = np.asarray(d["x"], dtype=np.float64).ravel()
    ker = np.asarray(d["w"], dtype=np.float64).ravel()
    signal = import_optional("scipy.signal")
    if signal is not None:
        return signal.fftconvolve(sig, ker, mode="full")
    return np.convolve(sig, ker, mode="full")


def compute_reference(layer, data):
    """The float64 result the layer must produce (a list of arrays for several outputs)."""
    d = data
    geometry = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
                    groups=layer.groups)
    if layer.transposed:
        return getattr(reference, f"conv_transpose{layer.nd}d")(
            d["x"], d["w"], d["b"], stride=layer.stride, padding=layer.padding,
            groups=layer.groups, dilation=layer.dilation)
    if layer.op == "separable2d":
        return reference.separable_conv2d(d["x"], d["w"], d["pw"], d["b"], stride=layer.stride,
                                          padding=layer.padding, dilation=layer.dilation)
    if layer.op == "octave2d":
        return _reference_octave(layer, d)
    if layer.op == "convolve1d":
        return _reference_signal(d)
    if layer.op == "conv2d_train":
        return _reference_train(layer, d)
    return reference.conv_nd(d["x"], d["w"], d["b"], **geometry)


# --------------------------------------------------------------------------
# The implementations compared
# --------------------------------------------------------------------------

@dataclass
class Candidate:
    """One implementation of a layer.

    ``call()`` runs it (or ``setup()``, run once outside the timing, returns
    that function), ``to_numpy`` turns its result into the shape of the
    reference (a list of arrays for several outputs). ``unavailable`` makes it
    an ``n/a`` row with that reason. ``flops`` and ``expected`` (a function
    returning the float64 result) replace the layer's for a row that computes
    a different problem; ``slow`` times a single call; ``baseline`` names the
    fastconv row this one is compared with in the notes.
    """

    impl: str
    library: str
    algorithm: object
    call: object = None
    to_numpy: object = np.asarray
    unavailable: str = None
    setup: object = None
    flops: float = None
    expected: object = None
    slow: bool = False
    baseline: str = None


def _signal_function(layer):
    return fastconv.convolve if layer.op == "convolve1d" else fastconv.correlate


def algorithm_reason(layer, algorithm):
    """Why fastconv's ``algorithm`` does not apply to the layer, or None if it does."""
    if layer.op in SIGNAL_OPS:
        name = "convolve" if layer.op == "convolve1d" else "correlate"
        if algorithm not in _signal.ALGORITHMS:
            return f"fastconv.{name} has no {algorithm!r} algorithm"
        if algorithm == "winograd":
            if layer.nd != 2:
                return f"winograd applies to 2-D arrays, this is {layer.nd}-D"
            reason = winograd_reason((layer.kernel,) * 2, (1, 1))
            return None if reason is None else "winograd: " + reason
        return None
    if algorithm not in fastconv.ALGORITHMS:
        return f"{layer.op} has no {algorithm!r} algorithm"
    if algorithm == "winograd":
        reason = winograd_reason((layer.kernel,) * layer.nd, (layer.stride,) * layer.nd)
        return None if reason is None else "winograd: " + reason
    return None


def _image_output(img):
    return np.asarray(img)[None, None]


def _conv_call(layer, d, fn, alg):
    geometry = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
                    groups=layer.groups)
    x, w, b = d["x"], d["w"], d["b"]
    return lambda: fn(x, w, b, algorithm=alg, **geometry)


def _train_call(layer, d, alg):
    geometry = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
                    groups=layer.groups)
    x, w, b, g = d["x"], d["w"], d["b"], d["g"]
    grad = fastconv.grad

    def call():
        y = fastconv.conv2d(x, w, b, algorithm=alg, **geometry)
        gx = grad.conv2d_input(x.shape, w, g, algorithm=alg, **geometry)
        gw = grad.conv2d_weight(x, w.shape, g, **geometry)    # the GEMM, whatever alg
        return [y, gx, gw] + ([] if b is None else [grad.bias(g)])
    return call


def _layer_call(layer, d, alg):
    """The fastconv call of the layer with ``alg``."""
    if layer.op in ("conv1d", "conv2d", "conv3d"):
        return _conv_call(layer, d, getattr(fastconv, layer.op), alg)
    if layer.transposed:
        x, w, b = d["x"], d["w"], d["b"]
        return lambda: fastconv.conv_transpose2d(x, w, b, stride=layer.stride,
                                                 padding=layer.padding, groups=layer.groups,
                                                 dilation=layer.dilation, algorithm=alg)
    if layer.op == "separable2d":
        x, dw, pw, b = d["x"], d["w"], d["pw"], d["b"]
        return lambda: fastconv.separable_conv2d(x, dw, pw, b, stride=layer.stride,
                                                 padding=layer.padding,
                                                 dilation=layer.dilation, algorithm=alg)
    if layer.op == "octave2d":
        args = (d["x"], d["xl"], d["w"], d["whl"], d["wlh"], d["wll"])
        return lambda: list(fastconv.octave_conv2d(*args, stride=layer.stride,
                                                   padding=layer.padding, algorithm=alg))
    if layer.op in SIGNAL_OPS:
        fn = _signal_function(layer)
        mode = "full" if layer.op == "convolve1d" else "same"
        sig, ker = d["x"][0, 0], d["w"][0, 0]
        return lambda: fn(sig, ker, mode=mode, algorithm=alg)
    if layer.op == "conv2d_train":
        return _train_call(layer, d, alg)
    raise ValueError(f"unknown op {layer.op!r}")


def default_algorithms(layer):
    """The algorithms timed on a layer by default: fastconv's, plus ``fft`` for signals."""
    extra = ("fft",) if layer.op in SIGNAL_OPS else ()
    return tuple(dict.fromkeys(tuple(fastconv.ALGORITHMS) + extra))


#: Seconds a ``fastconv/plan+tune`` row's plan may spend measuring.
PLAN_TUNE_BUDGET = 1.0


def _plan_candidate(layer, d, tune=False):
    """A plan made once outside the timing; ``tune``: measured (``tune=True``)
    from scratch, its wisdom dropped afterwards so that no other row follows it."""
    fn = getattr(fastconv, f"plan_conv{layer.nd}d")
    impl = "fastconv/plan+tune" if tune else "fastconv/plan"
    x, w, b = d["x"], d["w"], d["b"]

    def setup():
        with _tuning.scoped():
            if tune:
                fastconv.forget_wisdom()
            plan = fn(w, x.shape, b, stride=layer.stride, padding=layer.padding,
                      dilation=layer.dilation, groups=layer.groups, tune=tune,
                      tune_budget=PLAN_TUNE_BUDGET)
        return lambda: plan(x)
    return Candidate(impl, "fastconv", "auto", setup=setup, baseline="fastconv/auto")


def _two_calls_candidate(layer, d):
    x, dw, pw, b = d["x"], d["w"], d["pw"], d["b"]
    conv2d = fastconv.conv2d

    def call():
        z = conv2d(x, dw, None, stride=layer.stride, padding=layer.padding,
                   dilation=layer.dilation, groups=layer.c_in)
        return conv2d(z, pw, b)
    return Candidate("fastconv/2calls", "fastconv", "auto", call=call)


def _ordinary_conv_candidate(layer):
    """The ordinary convolution with the octave layer's channel counts and size."""
    shape_x = (layer.n, layer.c_in) + tuple(layer.spatial)
    shape_w = (layer.c_out, layer.c_in) + (layer.kernel,) * 2
    state = {}

    def setup():
        rng = np.random.default_rng(zlib.crc32((layer.name + "/conv2d").encode()))
        state["x"] = rng.standard_normal(shape_x, dtype=np.dtype(layer.dtype))
        state["w"] = _random(rng, shape_w, layer.dtype, math.prod(shape_w[1:]))
        x, w = state["x"], state["w"]
        return lambda: fastconv.conv2d(x, w, None, stride=layer.stride, padding=layer.padding)

    def expected():
        return reference.conv_nd(state["x"], state["w"], None, stride=layer.stride,
                                 padding=layer.padding)
    out = math.prod(layer.out_spatial)
    flops = 2 * layer.n * layer.c_out * out * layer.c_in * layer.kernel ** 2
    return Candidate(f"fastconv/conv2d-{layer.c_in}", "fastconv", "auto", setup=setup,
                     flops=flops, expected=expected)


def fastconv_candidates(layer, data, algorithms=None):
    """fastconv's rows of a layer: one per algorithm, then the op's extra rows.

    ``algorithms`` (default :func:`default_algorithms`) lists the algorithms
    to time; one that does not apply to the layer gives an ``n/a`` row.
    """
    d = data
    algorithms = default_algorithms(layer) if algorithms is None else algorithms
    baseline = {"separable2d": "fastconv/2calls",
                "octave2d": f"fastconv/conv2d-{layer.c_in}"}.get(layer.op)
    cands = []
    for alg in algorithms:
        impl = f"fastconv/{alg}"
        call = _layer_call(layer, d, alg)
        reason = algorithm_reason(layer, alg)
        if reason is not None:
            cands.append(Candidate(impl, "fastconv", alg, unavailable=reason))
            continue
        to_numpy = np.asarray
        if layer.op == "correlate":
            to_numpy = _image_output   # (H, W) -> (1, 1, H, W), the reference's shape
        elif layer.op in ("octave2d", "conv2d_train"):
            to_numpy = list
        cands.append(Candidate(impl, "fastconv", alg, call=call, to_numpy=to_numpy,
                               baseline=baseline))
    if layer.op in ("conv1d", "conv2d", "conv3d"):
        if layer.kernel == 3:
            cands.append(_plan_candidate(layer, d))
        cands.append(_plan_candidate(layer, d, tune=True))
    if layer.op == "separable2d":
        cands.append(_two_calls_candidate(layer, d))
    if layer.op == "octave2d":
        cands.append(_ordinary_conv_candidate(layer))
    return cands


def _torch_peer(layer, d, torch):
    F = torch.nn.functional
    tensors = {k: (None if v is None else torch.from_numpy(v)) for k, v in d.items()}
    x, w, b = tensors["x"], tensors["w"], tensors["b"]
    s, p, dil, g = layer.stride, layer.padding, layer.dilation, layer.groups
    to_numpy = (lambda t: t.numpy())
    if layer.op == "conv2d_train":
        xg, wg = x.clone().requires_grad_(), w.clone().requires_grad_()
        bg = None if b is None else b.clone().requires_grad_()
        gy = tensors["g"]

        def call():
            for t in (xg, wg, bg):
                if t is not None:
                    t.grad = None
            y = F.conv2d(xg, wg, bg, stride=s, padding=p, dilation=dil, groups=g)
            y.backward(gy)
            return [y.detach(), xg.grad, wg.grad] + ([] if bg is None else [bg.grad])
        return Candidate("torch", "torch", None, call=call,
                         to_numpy=lambda r: [t.numpy() for t in r])
    if layer.transposed:
        def call():
            with torch.no_grad():
                return F.conv_transpose2d(x, w, b, stride=s, padding=p, groups=g, dilation=dil)
    elif layer.op == "separable2d":
        pw = tensors["pw"]

        def call():
            with torch.no_grad():
                z = F.conv2d(x, w, None, stride=s, padding=p, dilation=dil, groups=layer.c_in)
                return F.conv2d(z, pw, b)
    elif layer.op == "octave2d":
        xl, whl, wlh, wll = (tensors[k] for k in ("xl", "whl", "wlh", "wll"))

        def call():
            with torch.no_grad():
                y_high = F.conv2d(x, w, padding=p) + F.interpolate(
                    F.conv2d(xl, wlh, padding=p), scale_factor=2, mode="nearest")
                y_low = F.conv2d(xl, wll, padding=p) + F.conv2d(F.avg_pool2d(x, 2), whl,
                                                                  padding=p)
                return [y_high, y_low]
        to_numpy = (lambda r: [t.numpy() for t in r])
    elif layer.op == "convolve1d":
        return None
    else:
        op = getattr(F, f"conv{layer.nd}d")

        def call():
            with torch.no_grad():
                return op(x, w, b, stride=s, padding=p, dilation=dil, groups=g)
    return Candidate("torch", "torch", None, call=call, to_numpy=to_numpy)


def peer_candidates(layer, data, threads, quick=False):
    """The other libraries' rows of a layer (those installed)."""
    d = data
    peers = []
    torch = import_optional("torch")
    if torch is not None:
        torch.set_num_threads(threads)   # run() restores the previous count
        cand = _torch_peer(layer, d, torch)
        if cand is not None:
            peers.append(cand)
    if layer.op == "correlate":
        # Single image, single kernel: the zero border of these libraries is
        # the zero padding of the layer (odd kernel, centred anchor), so the
        # whole output is comparable with the reference.
        image, kernel = d["x"][0, 0], d["w"][0, 0]
        ndimage = import_optional("scipy.ndimage")
        if ndimage is not None:
            peers.append(Candidate(
                "scipy.ndimage", "scipy", None, to_numpy=_image_output,
                call=lambda: ndimage.correlate(image, kernel, mode="constant", cval=0.0)))
        signal = import_optional("scipy.signal")
        if signal is not None:
            peers.append(Candidate(
                "scipy.signal", "scipy", None, to_numpy=_image_output,
                call=lambda: signal.correlate(image, kernel, mode="same")))
        cv2 = import_optional("cv2")
        if cv2 is not None:
            cv2.setNumThreads(threads)  # run() restores the previous count
            peers.append(Candidate(
                "cv2", "opencv", None, to_numpy=_image_output,
                call=lambda: cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_CONSTANT)))
    if layer.op == "convolve1d":
        sig, ker = d["x"][0, 0], d["w"][0, 0]
        signal = import_optional("scipy.signal")
        if signal is not None:
            peers.append(Candidate("scipy.oaconvolve", "scipy", None,
                                   call=lambda: signal.oaconvolve(sig, ker, mode="full")))
            peers.append(Candidate("scipy.fftconvolve", "scipy", None,
                                   call=lambda: signal.fftconvolve(sig, ker, mode="full")))
        # numpy.convolve is direct and slow: one timing of one call, none with --quick.
        peers.append(Candidate("np.convolve", "numpy", None, slow=True,
                               call=lambda: np.convolve(sig, ker, mode="full"),
                               unavailable="skipped with --quick" if quick else None))
    return peers


# --------------------------------------------------------------------------
# Running the suite
# --------------------------------------------------------------------------

def run_candidate(layer, cand, expected, repeat, min_timing):
    """Time and check one implementation; returns its JSON record."""
    tol = layer.tolerance
    flops = cand.flops if cand.flops is not None else layer.flops
    record = {
        "layer": layer.name, "impl": cand.impl, "library": cand.library,
        "algorithm": cand.algorithm, "op": layer.op, "dtype": layer.dtype,
        "n": layer.n, "c_in": layer.c_in, "c_out": layer.c_out,
        "spatial": list(layer.spatial), "kernel": layer.kernel, "stride": layer.stride,
        "padding": layer.padding, "dilation": layer.dilation, "groups": layer.groups,
        "bias": layer.bias, "output_shape": list(layer.output_shape), "flops": flops,
        "applicable": cand.unavailable is None, "status": None, "error": None,
        "time_min_s": None, "time_median_s": None, "times_s": [], "repeat": repeat,
        "inner_loops": None, "gflops": None, "ratio_to_best_peer": None, "best_peer": None,
        "baseline": cand.baseline, "ratio_to_baseline": None,
        "rel_error": None, "tolerance": tol, "checked": expected is not None, "passed": None,
    }
    if cand.unavailable is not None:
        record["status"] = "n/a"
        record["error"] = cand.unavailable
        return record
    try:
        call = cand.setup() if cand.setup is not None else cand.call
        if cand.slow:
            timing = time_once(call)
        else:
            timing = time_call(call, repeat, min_timing)
        result = cand.to_numpy(timing.result)
        if expected is not None and cand.expected is not None:
            expected = cand.expected()
    except Exception as exc:  # reported in the table, not raised
        record["status"] = "ERROR"
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["passed"] = False
        return record
    record.update(time_min_s=timing.best, time_median_s=timing.median,
                  times_s=list(timing.times), inner_loops=timing.inner,
                  repeat=len(timing.times), gflops=flops / timing.best / 1e9)
    if expected is None:
        record["status"] = "unchecked"
        return record
    err = relative_error(result, expected)
    wrong_dtype = _wrong_dtype(result, layer.dtype)
    ok = err <= tol and wrong_dtype is None
    record["rel_error"] = err if math.isfinite(err) else None
    record["passed"] = bool(ok)
    if cand.library == "fastconv":
        record["status"] = "ok" if ok else "FAIL"
        if wrong_dtype is not None:
            record["error"] = f"result dtype {wrong_dtype}, expected {layer.dtype}"
        elif not math.isfinite(err):
            record["error"] = "non-finite or wrongly shaped result"
    else:
        record["status"] = "ok" if ok else "differs"
    return record


#: ``auto`` is flagged when another fastconv algorithm took less than
#: ``1 / AUTO_SLACK`` of its time on the same row.
AUTO_SLACK = 1.05


def auto_choice(call):
    """The algorithms ``call()`` ran (``+``-joined, in order; None if none was
    recorded): what ``auto`` chose."""
    with _dispatch.recording() as log:
        call()
    return "+".join(dict.fromkeys(log)) or None


def judge_auto(layer, own_records, own, repeat=None, min_timing=None):
    """Mark the ``fastconv/auto`` record with the algorithm it chose
    (``auto_choice``), the fastest other algorithm's row (``auto_best``) and
    ``auto_ratio`` (auto's time over that row's); ``auto_loses`` when the
    ratio exceeds :data:`AUTO_SLACK`.

    The rows are timed one after the other, so a load change between them
    can make ``auto`` look slower than the very algorithm it runs. With
    ``repeat`` given, a flagged row is timed again, ``auto`` and that
    algorithm in alternation (:func:`time_interleaved`), and the verdict is
    the second timing's (``auto_ratio_rows`` keeps the first ratio). A row
    where ``auto`` ran the faster row's own algorithm (and kernel: auto's
    1x1 matrix-times-vectors path is ``im2col/gemv``) is not flagged but
    marked ``auto_same_algorithm``: the two rows ran the same computation."""
    auto = next((r for r in own_records if r["impl"] == "fastconv/auto"), None)
    if auto is None or auto["time_min_s"] is None:
        return
    cand = next(c for c in own if c.impl == "fastconv/auto")
    try:
        auto["auto_choice"] = auto_choice(cand.setup() if cand.setup else cand.call)
    except Exception:  # the timed call's own error is already reported
        auto["auto_choice"] = None
    others = [r for r in own_records
              if r["algorithm"] in default_algorithms(layer) and r["algorithm"] != "auto"
              and r["time_min_s"] is not None and r["passed"] is not False]
    if not others:
        return
    best = min(others, key=lambda r: r["time_min_s"])
    auto["auto_best"] = best["impl"]
    auto["auto_ratio"] = auto["time_min_s"] / best["time_min_s"]
    auto["auto_loses"] = auto["auto_ratio"] > AUTO_SLACK
    best_cand = next((c for c in own if c.impl == best["impl"]), None)
    if auto["auto_loses"] and repeat and best_cand is not None:
        fns = [c.setup() if c.setup else c.call for c in (cand, best_cand)]
        t_auto, t_best = time_interleaved(fns, repeat, min_timing or 0.0)
        auto["auto_ratio_rows"] = auto["auto_ratio"]
        auto["auto_ratio"] = t_auto.best / t_best.best
        auto["auto_loses"] = auto["auto_ratio"] > AUTO_SLACK
    if auto["auto_loses"] and auto.get("auto_choice") == best["algorithm"]:
        # auto ran the very kernel of the faster row: the difference is the
        # timing's, not the choice's (kept apart, not flagged).
        auto["auto_loses"] = False
        auto["auto_same_algorithm"] = True


def run_layer(layer, options, ref_cache, peers=None, own=None):
    """Time and check every implementation of one layer; returns the records.

    ``peers`` and ``own`` replace the candidates of :func:`peer_candidates`
    and :func:`fastconv_candidates` (a suite with rows of its own)."""
    data = make_inputs(layer)
    expected = None
    if options.check:
        if layer.name not in ref_cache:
            ref_cache[layer.name] = compute_reference(layer, data)
        expected = ref_cache[layer.name]
    # Peers first: the fastconv rows are compared with the best of them.
    if peers is None:
        peers = (peer_candidates(layer, data, options.threads, options.quick)
                 if options.peers else [])
    else:
        peers = peers(layer, data) if options.peers else []
    peer_records = [run_candidate(layer, c, expected, options.repeat, options.min_timing)
                    for c in peers]
    timed = [r for r in peer_records if r["time_min_s"] is not None]
    best_peer = min(timed, key=lambda r: r["time_min_s"]) if timed else None
    algorithms = getattr(options, "algorithms", None)
    if algorithms is None:
        algorithms = default_algorithms(layer)
    own = (fastconv_candidates(layer, data, algorithms) if own is None
           else own(layer, data, algorithms))
    own_records = [run_candidate(layer, c, expected, options.repeat, options.min_timing)
                   for c in own]
    judge_auto(layer, own_records, own, options.repeat, options.min_timing)
    by_impl = {r["impl"]: r for r in own_records}
    for r in own_records:
        if r["time_min_s"] is None:
            continue
        if best_peer is not None:
            r["ratio_to_best_peer"] = r["time_min_s"] / best_peer["time_min_s"]
            r["best_peer"] = best_peer["impl"]
        base = by_impl.get(r["baseline"])
        if base is not None and base["time_min_s"] is not None:
            r["ratio_to_baseline"] = r["time_min_s"] / base["time_min_s"]
    return own_records + peer_records


def run_gemm(options, size=1024):
    """fastconv's GEMM kernel against ``numpy.matmul`` on a square float32 product."""
    gemm = _gemm
    rng = np.random.default_rng(size)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    flops = 2.0 * size ** 3
    record = {"m": size, "n": size, "k": size, "dtype": "float32", "flops": flops}
    threadpoolctl = import_optional("threadpoolctl")
    try:
        own = time_call(lambda: gemm.matmul(a, b), options.repeat, options.min_timing)
    except Exception as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
        return record
    if threadpoolctl is not None:
        with threadpoolctl.threadpool_limits(options.threads, user_api="blas"):
            ref = time_call(lambda: np.matmul(a, b), options.repeat, options.min_timing)
    else:
        ref = time_call(lambda: np.matmul(a, b), options.repeat, options.min_timing)
    record.update(
        fastconv_time_min_s=own.best, fastconv_time_median_s=own.median,
        fastconv_gflops=flops / own.best / 1e9,
        numpy_time_min_s=ref.best, numpy_time_median_s=ref.median,
        numpy_gflops=flops / ref.best / 1e9,
        ratio=own.best / ref.best,
    )
    if options.check:
        exact = a.astype(np.float64) @ b.astype(np.float64)
        record["rel_error"] = relative_error(np.asarray(own.result), exact)
    return record


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

_COLUMNS = (("layer", 23, "<"), ("impl", 19, "<"), ("ms", 10, ">"), ("GFLOP/s", 9, ">"),
            ("ratio", 7, ">"), ("rel.err", 9, ">"), ("status", 9, "<"))


DESCRIPTION = (
    "Time every operation of fastconv (convolutions, plans, transposed, separable and "
    "octave convolution, image and signal filters, forward + backward passes) on typical "
    "problems against PyTorch, SciPy, OpenCV and NumPy, checking every result against "
    "fastconv.reference. An algorithm that does not apply to a problem is reported as "
    "n/a. Exit status 1 when a fastconv result is outside its tolerance (FAIL) or its "
    "call raises (ERROR).")

LEGEND = (
    "ms: fastest of the timings; GFLOP/s: 2 * multiply-accumulates of the direct "
    "definition per second",
    "(separable: both stages; octave: the four paths; train: forward + grad input + "
    "grad weight);",
    "ratio: fastconv time / fastest other library (< 1: fastconv is faster); "
    "rel.err: max|result - reference| / max|reference|",
    "(per output array); a trailing 'Nx fastconv/...' compares the row with that "
    "fastconv row; n/a: not applicable or not available.",
    f"'chose X': the algorithm(s) auto ran; 'AUTO SLOWER: r x Y': another algorithm "
    f"(row Y) took less than 1/{AUTO_SLACK} of auto's time.",
    "plan+tune: a plan made with tune=True (measured, outside the timing).",
)


def _fmt_row(values):
    """Align ``values`` under the columns; a shorter row's last value runs on freely."""
    cells = [f"{v:{align}{width}}" for v, (_, width, align) in zip(values[:-1], _COLUMNS)]
    cells.append(str(values[-1]) if len(values) < len(_COLUMNS)
                 else f"{values[-1]:{_COLUMNS[-1][2]}{_COLUMNS[-1][1]}}")
    return "  ".join(cells).rstrip()


def format_record(r):
    """One line of the table for a record (``n/a`` rows give their reason)."""
    if r["status"] == "n/a":
        return _fmt_row([r["layer"], r["impl"], "n/a: " + str(r["error"])])
    if r["status"] == "ERROR":
        return _fmt_row([r["layer"], r["impl"], "ERROR: " + r["error"]])
    ms = f"{r['time_min_s'] * 1e3:.3f}"
    gflops = f"{r['gflops']:.1f}"
    ratio = "" if r["ratio_to_best_peer"] is None else f"{r['ratio_to_best_peer']:.2f}"
    if not r["checked"]:
        err = "-"
    elif r["rel_error"] is None:
        err = "inf"
    else:
        err = f"{r['rel_error']:.1e}"
    line = _fmt_row([r["layer"], r["impl"], ms, gflops, ratio, err, r["status"]])
    if r["error"]:
        line += "  " + r["error"]
    if r.get("ratio_to_baseline") is not None:
        line += f"  {r['ratio_to_baseline']:.2f}x {r['baseline']}"
    if r.get("auto_choice"):
        line += f"  chose {r['auto_choice']}"
    if r.get("auto_loses"):
        line += f"  AUTO SLOWER: {r['auto_ratio']:.2f}x {r['auto_best']}"
    elif r.get("auto_same_algorithm"):
        line += f"  (same algorithm as {r['auto_best']}: {r['auto_ratio']:.2f}x, timing noise)"
    return line


def format_gemm(g):
    size = f"{g['m']}x{g['n']}x{g['k']} {g['dtype']}"
    if "error" in g:
        return f"GEMM {size}: fastconv matmul failed: {g['error']}"
    err = f", rel.err {g['rel_error']:.1e}" if "rel_error" in g else ""
    return (f"GEMM {size}: fastconv {g['fastconv_gflops']:.1f} GFLOP/s "
            f"({g['fastconv_time_min_s'] * 1e3:.2f} ms), numpy.matmul "
            f"{g['numpy_gflops']:.1f} GFLOP/s ({g['numpy_time_min_s'] * 1e3:.2f} ms), "
            f"ratio {g['ratio']:.2f}{err}")


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def add_arguments(parser):
    """Add the options of ``bench`` to an :class:`argparse.ArgumentParser`."""
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="threads for fastconv and the other libraries (default: "
                             "fastconv.get_num_threads(); negative counts back from the "
                             "usable cores, -1 = all)")
    parser.add_argument("--suite", dest="suites", nargs="+", default=None, metavar="SUITE",
                        help=f"suites to run (default: {DEFAULT_SUITE}); the others: "
                             "see the bench's documentation")
    parser.add_argument("--layers", nargs="+", default=None, metavar="NAME",
                        help="layers to run: exact names, or substrings of names "
                             "(default: all); see --list")
    parser.add_argument("--algorithms", nargs="+", default=None, metavar="ALG",
                        help="fastconv algorithms to time (default: all of "
                             f"{', '.join(fastconv.ALGORITHMS)}, and fft for the "
                             "image and signal filters); one that does not apply to a "
                             "layer is reported as n/a")
    parser.add_argument("--repeat", type=int, default=None, metavar="R",
                        help=f"timings per row; the minimum is reported "
                             f"(default {DEFAULT_REPEAT}, 1 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="one short timing per row, numpy.convolve skipped (smoke test)")
    parser.add_argument("--json", default=None, metavar="FILE",
                        help="also write every record and the run's metadata to FILE")
    parser.add_argument("--no-peers", dest="peers", action="store_false",
                        help="time fastconv only (no PyTorch, SciPy, OpenCV or NumPy)")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip the comparison with fastconv.reference")
    parser.add_argument("--list", action="store_true",
                        help="list the layers of the suite and exit")
    return parser


def build_parser(prog="python -m fastconv bench"):
    parser = argparse.ArgumentParser(
        prog=prog, description=DESCRIPTION)
    return add_arguments(parser)


def select_layers(patterns, parser):
    if not patterns:
        return list(LAYERS)
    chosen = []
    for pattern in patterns:
        exact = [layer for layer in LAYERS if layer.name == pattern]
        matches = exact or [layer for layer in LAYERS if pattern in layer.name]
        if not matches:
            parser.error(f"--layers: no layer matches {pattern!r}; layers: "
                         f"{', '.join(layer.name for layer in LAYERS)}")
        chosen.extend(m for m in matches if m not in chosen)
    return [layer for layer in LAYERS if layer in chosen]


def known_algorithms():
    """Every algorithm name ``--algorithms`` accepts."""
    return tuple(dict.fromkeys(fastconv.ALGORITHMS + _signal.ALGORITHMS))


def resolve_options(args, parser):
    """Check the parsed arguments (``parser.error`` exits with status 2)."""
    if args.threads == 0:
        parser.error("--threads must not be 0 (use a positive count, or -1 for all cores)")
    if args.repeat is not None and args.repeat < 1:
        parser.error(f"--repeat must be >= 1, got {args.repeat}")
    known = known_algorithms()
    if args.algorithms is not None:
        unknown = [a for a in args.algorithms if a not in known]
        if unknown:
            parser.error(f"--algorithms: unknown {', '.join(unknown)}; available: "
                         f"{', '.join(known)}")
        args.algorithms = tuple(dict.fromkeys(args.algorithms))
    if args.suites is None:
        args.suites = [DEFAULT_SUITE]
    known_suites = all_suites()
    unknown = [name for name in args.suites if name not in known_suites]
    if unknown:
        parser.error(f"--suite: unknown {', '.join(unknown)}; available: "
                     f"{', '.join(known_suites)}")
    args.suites = list(dict.fromkeys(args.suites))
    args.layer_list = select_layers(args.layers, parser) if DEFAULT_SUITE in args.suites else []
    if args.repeat is None:
        args.repeat = 1 if args.quick else DEFAULT_REPEAT
    args.min_timing = QUICK_MIN_TIMING if args.quick else MIN_TIMING
    return args


#: The helpers this module shares with the other suite modules.
image_output = _image_output
fmt_row = _fmt_row
COLUMNS = _COLUMNS
layer_call = _layer_call


#: The suites of ``--suite``. Each is run by a module of fastconv whose
#: ``SUITES`` tuple names the suites it answers to, with two functions:
#: ``list_suite(name, args, emit)`` prints its rows and
#: ``run_suite(name, args, emit)`` runs it and returns ``(records, extra)``:
#: records are dicts with at least ``library`` and ``passed`` (a fastconv
#: record with ``passed`` False fails the run); ``extra`` is a dict merged
#: into the JSON metadata. This module runs the layer suite; the modules are
#: imported only when their suite is asked for.
SUITE_MODULES = ("fastconv._bench", "fastconv._bench_tiny", "fastconv._bench_networks",
                 "fastconv._bench_dask", "fastconv._bench_ndimage")
#: The suites this module runs.
SUITES = ("layers",)
DEFAULT_SUITE = "layers"


def suite_module(name):
    """The module that runs suite ``name``, or None."""
    for module_name in SUITE_MODULES:
        module = importlib.import_module(module_name)
        if name in module.SUITES:
            return module
    return None


def all_suites():
    """Every suite name ``--suite`` accepts, in the order of :data:`SUITE_MODULES`."""
    return tuple(name for m in SUITE_MODULES for name in importlib.import_module(m).SUITES)


def list_suite(name, args, emit):
    """Print the layers of the layer suite (``--list``)."""
    for layer in args.layer_list:
        emit(f"{layer.name:23}  {layer.describe()}")


def run_suite(name, args, emit):
    """Run the layer suite: the GEMM line, then every chosen layer's rows."""
    gemm = run_gemm(args)
    if gemm is not None:
        emit(format_gemm(gemm))
    emit()
    emit(_fmt_row([c[0] for c in _COLUMNS]))
    emit(_fmt_row(["-" * c[1] for c in _COLUMNS]))
    records = []
    ref_cache = {}
    for layer in args.layer_list:
        layer_records = run_layer(layer, args, ref_cache)
        for r in layer_records:
            r["threads"] = args.threads
            emit(format_record(r))
        records.extend(layer_records)
    emit()
    for line in LEGEND:
        emit(line)
    extra = dict(gemm=gemm,
                 algorithms=list(args.algorithms if args.algorithms is not None else
                                 dict.fromkeys(a for layer in args.layer_list
                                               for a in default_algorithms(layer))),
                 tolerance=TOLERANCE, layers=[asdict(layer) for layer in args.layer_list])
    return records, extra


def run(args, stream=None):
    """Run the benchmark described by parsed (and resolved) arguments.

    Returns
    -------
    int
        0 when every fastconv result passed its check, 1 when one is ``FAIL``
        or ``ERROR`` (``n/a`` rows do not count).
    """
    out = stream or sys.stdout

    def emit(line=""):
        print(line, file=out, flush=True)

    if args.list:
        for name in args.suites:
            suite_module(name).list_suite(name, args, emit)
        return 0

    previous = getattr(getattr(fastconv, "_threads", None), "_user_threads", None)
    torch = import_optional("torch") if args.peers else None
    torch_threads = torch.get_num_threads() if torch is not None else None
    cv2 = import_optional("cv2") if args.peers else None
    cv2_threads = cv2.getNumThreads() if cv2 is not None else None
    records = []
    meta = {}
    try:
        if args.threads is not None:
            fastconv.set_num_threads(args.threads)
        args.threads = fastconv.get_num_threads()
        meta = machine_info(args.threads)
        emit(header_line(meta))
        for name in args.suites:
            if len(args.suites) > 1:
                emit()
                emit(f"suite {name}")
            suite_records, extra = suite_module(name).run_suite(name, args, emit)
            for r in suite_records:
                r.setdefault("suite", name)
            records.extend(suite_records)
            meta.update(extra)
    finally:
        fastconv.set_num_threads(previous)
        if torch_threads is not None:
            torch.set_num_threads(torch_threads)
        if cv2_threads is not None:
            cv2.setNumThreads(cv2_threads)

    failures = [r for r in records if r["library"] == "fastconv" and r["passed"] is False]
    meta["load_average_end"] = _load_average()
    if failures:
        emit(f"{len(failures)} fastconv result(s) FAILED: "
             + ", ".join(f"{r.get('layer')} {r.get('impl')}" for r in failures))
    if args.json:
        meta.update(suites=list(args.suites), repeat=args.repeat, quick=args.quick,
                    min_timing_s=args.min_timing, peers=args.peers, check=args.check,
                    failures=len(failures))
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"metadata": meta, "records": records}, f, indent=2, default=_json_default)
            f.write("\n")
    return 1 if failures else 0


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {value!r}")


def main(argv=None):
    """Run ``python -m fastconv bench`` with the command-line arguments ``argv``.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``bench`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 when every fastconv result is within tolerance
        (``n/a`` rows, an algorithm that does not apply, are not failures), 1 when one fails its check
        (``FAIL``) or raises (``ERROR``).

    Raises
    ------
    SystemExit
        With status 2 on a usage error (argparse's convention), or 0 after
        ``--help``.

    Examples
    --------
    >>> from fastconv import _bench
    >>> status = _bench.main(["--quick", "--layers", "resnet3x3_64_56",
    ...                       "--no-peers"])  # doctest: +SKIP
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    return run(resolve_options(args, parser))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
