"""The benchmark suite behind ``python -m fastconv bench``.

It times fastconv on a fixed set of typical layers (ResNet-style 3 x 3 and
1 x 1 convolutions, strided, depthwise, grouped and dilated ones, a transposed
convolution, a long 1-D signal, a 3-D volume and a single-channel image filter)
with every algorithm of :data:`fastconv.ALGORITHMS`, next to the same operation
in the libraries a NumPy user would otherwise reach for (PyTorch, SciPy,
OpenCV) when they are installed. Every result is checked against the float64
implementations of :mod:`fastconv.reference`; a fastconv result outside the
tolerance of its dtype is reported as ``FAIL`` and makes the exit status 1.

Each row reports the minimum time over ``--repeat`` timings (the median is kept
in the JSON output), the arithmetic rate of the direct definition of the
convolution (``2 * N * C_out * prod(out_spatial) * (C_in / groups) *
prod(kernel)`` floating point operations), the ratio to the fastest other
library in the same run (below 1 means fastconv is faster) and the largest
absolute error relative to the largest absolute value of the reference.

The suite is plain data (:data:`LAYERS`), so tests can run a single layer::

    from fastconv import _bench
    status = _bench.main(["--quick", "--layers", "resnet3x3_64_56",
                          "--no-peers", "--json", "bench.json"])
"""
import argparse
import datetime
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
from fastconv import reference

#: Largest error relative to ``max|reference|`` a fastconv result may show.
TOLERANCE = {"float32": 1e-4, "float64": 1e-10}

#: One timing lasts at least this long (seconds): fast calls are repeated
#: inside it and the fastest call is kept.
MIN_TIMING = 0.05
#: The same for ``--quick``.
QUICK_MIN_TIMING = 0.005
#: Upper bound of calls inside one timing.
MAX_INNER = 1000
DEFAULT_REPEAT = 7

NOT_AVAILABLE = "not available in this version"


@dataclass(frozen=True)
class Layer:
    """One benchmarked operation.

    ``op`` is ``"conv1d"``, ``"conv2d"``, ``"conv3d"``, ``"conv_transpose2d"``
    or ``"correlate"`` (a single-channel 2-D image filtered by one kernel:
    ``fastconv.conv2d`` with one channel, compared with the image-processing
    libraries). ``kernel``, ``stride``, ``padding`` and ``dilation`` apply to
    every spatial dimension.
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

    @property
    def nd(self):
        """Number of spatial dimensions."""
        return len(self.spatial)

    @property
    def transposed(self):
        return self.op == "conv_transpose2d"

    @property
    def input_shape(self):
        return (self.n, self.c_in) + tuple(self.spatial)

    @property
    def weight_shape(self):
        """PyTorch's layout: ``(C_in, C_out // groups, *k)`` for a transposed convolution."""
        kernel = (self.kernel,) * self.nd
        if self.transposed:
            return (self.c_in, self.c_out // self.groups) + kernel
        return (self.c_out, self.c_in // self.groups) + kernel

    @property
    def out_spatial(self):
        span = self.dilation * (self.kernel - 1) + 1
        if self.transposed:
            return tuple((s - 1) * self.stride - 2 * self.padding + span for s in self.spatial)
        return tuple((s + 2 * self.padding - span) // self.stride + 1 for s in self.spatial)

    @property
    def output_shape(self):
        return (self.n, self.c_out) + self.out_spatial

    @property
    def flops(self):
        """Floating point operations of the direct definition (2 per multiply-accumulate).

        For a transposed convolution every input element is multiplied by
        every tap of its ``C_out / groups`` filters.
        """
        taps = self.kernel ** self.nd
        if self.transposed:
            return (2 * self.n * self.c_in * math.prod(self.spatial)
                    * (self.c_out // self.groups) * taps)
        return (2 * self.n * self.c_out * math.prod(self.out_spatial)
                * (self.c_in // self.groups) * taps)

    def describe(self):
        dims = "x".join(str(s) for s in self.spatial)
        return (f"{self.op} N={self.n} C_in={self.c_in} C_out={self.c_out} {dims} "
                f"k={self.kernel} s={self.stride} p={self.padding} d={self.dilation} "
                f"g={self.groups} {self.dtype}")


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
    Layer("img5x5_1024", "correlate", 1, 1, 1, (1024, 1024), 5, 1, 2, bias=False),
    Layer("resnet3x3_64_56_f64", "conv2d", 1, 64, 64, (56, 56), 3, 1, 1, dtype="float64"),
    Layer("pw1x1_256_64_56_f64", "conv2d", 1, 256, 64, (56, 56), 1, 1, 0, dtype="float64"),
)


# --------------------------------------------------------------------------
# Optional libraries
# --------------------------------------------------------------------------

def _import_optional(name):
    try:
        return __import__(name, fromlist=["_"])
    except Exception:  # an installed but broken package counts as absent
        return None


def _gemm_module():
    """fastconv's own GEMM kernel module, when this build provides ``matmul``."""
    try:
        from fastconv._kernels import _gemm
        return _gemm if callable(_gemm.matmul) else None
    except (ImportError, AttributeError):
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


def _usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _fastconv_version():
    version = getattr(fastconv, "__version__", None)
    if version:
        return str(version)
    try:
        from importlib.metadata import version as dist_version
        return dist_version("fastconv")
    except Exception:
        return "unknown"


def _isa():
    """The SIMD level the kernels run with, when the build reports it."""
    for owner in (fastconv, getattr(fastconv, "_config", None)):
        get_config = getattr(owner, "get_config", None)
        if callable(get_config):
            try:
                info = get_config()
            except Exception:
                continue
            if isinstance(info, dict) and info.get("isa"):
                return str(info["isa"])
    return None


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
        "usable_cores": _usable_cores(),
        "cpu_count": os.cpu_count(),
        "load_average": _load_average(),
        "threads": threads,
        "fastconv_version": _fastconv_version(),
        "isa": _isa(),
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
    start = time.perf_counter()
    fn()
    warm = time.perf_counter() - start
    inner = max(1, min(MAX_INNER, math.ceil(min_timing / max(warm, 1e-7))))
    times = []
    for _ in range(repeat):
        best = math.inf
        for _ in range(inner):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        times.append(best)
    return Timing(result, times, inner)


def relative_error(result, expected):
    """``max|result - expected| / max|expected|``, computed in float64 (inf on a shape mismatch)."""
    result = np.asarray(result)
    if result.shape != expected.shape:
        return math.inf
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    if expected.size == 0:
        return 0.0
    diff = np.abs(result.astype(np.float64) - expected)
    err = float(np.max(diff)) if np.all(np.isfinite(diff)) else math.inf
    return err / scale if scale > 0 else err


# --------------------------------------------------------------------------
# Data and reference results
# --------------------------------------------------------------------------

def make_inputs(layer):
    """Deterministic input, weight and bias (or None) of the layer's dtype.

    The weights are scaled by ``1 / sqrt(fan_in)`` so the outputs stay of
    order one, as in a trained network.
    """
    rng = np.random.default_rng(zlib.crc32(layer.name.encode()))
    dtype = np.dtype(layer.dtype)
    x = rng.standard_normal(layer.input_shape, dtype=dtype)
    fan_in = math.prod(layer.weight_shape[1:])
    w = (rng.standard_normal(layer.weight_shape) / math.sqrt(fan_in)).astype(dtype)
    b = rng.standard_normal(layer.c_out).astype(dtype) if layer.bias else None
    return x, w, b


def reference_conv_transpose(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Transposed convolution in float64, PyTorch's ``conv_transposeNd`` semantics.

    Computed as the ordinary convolution it is the adjoint of: the input is
    spread out with ``stride - 1`` zeros between elements, padded by
    ``dilation * (k - 1) - padding`` on each side (cropped when negative) and
    correlated with the spatially flipped filters, input and output channels
    exchanged within each group. ``weight`` has shape ``(C_in, C_out // groups,
    *kernel)``; ``stride``, ``padding`` and ``dilation`` are ints.
    """
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    nd = weight.ndim - 2
    kernel = weight.shape[2:]
    n, c_in = x.shape[:2]
    spatial = x.shape[2:]
    spread = np.zeros((n, c_in) + tuple((s - 1) * stride + 1 for s in spatial))
    spread[(slice(None), slice(None)) + (slice(None, None, stride),) * nd] = x
    c_in_g = c_in // groups
    flipped = np.flip(weight, axis=tuple(range(2, 2 + nd)))
    w = np.concatenate([np.swapaxes(flipped[g * c_in_g:(g + 1) * c_in_g], 0, 1)
                        for g in range(groups)], axis=0)
    pads = [dilation * (k - 1) - padding for k in kernel]
    y = reference.conv_nd(spread, w, bias, stride=1,
                          padding=[max(p, 0) for p in pads], dilation=dilation, groups=groups)
    crop = tuple(slice(-p, y.shape[2 + i] + p) if p < 0 else slice(None)
                 for i, p in enumerate(pads))
    return y[(slice(None), slice(None)) + crop]


def compute_reference(layer, x, w, b):
    """The float64 result the layer must produce."""
    if layer.transposed:
        return reference_conv_transpose(x, w, b, layer.stride, layer.padding,
                                        layer.dilation, layer.groups)
    return reference.conv_nd(x, w, b, stride=layer.stride, padding=layer.padding,
                             dilation=layer.dilation, groups=layer.groups)


# --------------------------------------------------------------------------
# The implementations compared
# --------------------------------------------------------------------------

@dataclass
class Candidate:
    """One implementation of a layer: ``call()`` runs it, ``to_numpy`` turns its
    result into an array shaped like the layer's output."""

    impl: str
    library: str
    algorithm: object
    call: object = None
    to_numpy: object = np.asarray
    unavailable: str = None


def fastconv_candidates(layer, x, w, b, algorithms):
    if layer.transposed:
        fn = getattr(fastconv, "conv_transpose2d", None)
        if fn is None:
            return [Candidate("fastconv", "fastconv", None, unavailable=NOT_AVAILABLE)]
    else:
        fn = getattr(fastconv, f"conv{layer.nd}d")
    kwargs = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
                  groups=layer.groups)
    return [Candidate(f"fastconv/{alg}", "fastconv", alg,
                      call=lambda alg=alg: fn(x, w, b, algorithm=alg, **kwargs))
            for alg in algorithms]


def peer_candidates(layer, x, w, b, threads):
    peers = []
    torch = _import_optional("torch")
    if torch is not None:
        torch.set_num_threads(threads)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        tb = None if b is None else torch.from_numpy(b)
        functional = torch.nn.functional
        if layer.transposed:
            op = functional.conv_transpose2d

            def torch_call():
                with torch.no_grad():
                    return op(tx, tw, tb, stride=layer.stride, padding=layer.padding,
                              groups=layer.groups, dilation=layer.dilation)
        else:
            op = getattr(functional, f"conv{layer.nd}d")

            def torch_call():
                with torch.no_grad():
                    return op(tx, tw, tb, stride=layer.stride, padding=layer.padding,
                              dilation=layer.dilation, groups=layer.groups)
        peers.append(Candidate("torch", "torch", None, call=torch_call,
                               to_numpy=lambda t: t.numpy()))
    if layer.op == "correlate":
        # Single image, single kernel: the zero border of these libraries is
        # the zero padding of the layer (odd kernel, centred anchor), so the
        # whole output is comparable with the reference.
        image, kernel = x[0, 0], w[0, 0]

        def as_output(img):
            return np.asarray(img)[None, None]

        ndimage = _import_optional("scipy.ndimage")
        if ndimage is not None:
            peers.append(Candidate(
                "scipy.ndimage", "scipy", None, to_numpy=as_output,
                call=lambda: ndimage.correlate(image, kernel, mode="constant", cval=0.0)))
        signal = _import_optional("scipy.signal")
        if signal is not None:
            peers.append(Candidate(
                "scipy.signal", "scipy", None, to_numpy=as_output,
                call=lambda: signal.correlate(image, kernel, mode="same")))
        cv2 = _import_optional("cv2")
        if cv2 is not None:
            cv2.setNumThreads(threads)  # run() restores the previous count
            peers.append(Candidate(
                "cv2", "opencv", None, to_numpy=as_output,
                call=lambda: cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_CONSTANT)))
    return peers


# --------------------------------------------------------------------------
# Running the suite
# --------------------------------------------------------------------------

def run_candidate(layer, cand, expected, repeat, min_timing):
    """Time and check one implementation; returns its JSON record."""
    tol = TOLERANCE[layer.dtype]
    record = {
        "layer": layer.name, "impl": cand.impl, "library": cand.library,
        "algorithm": cand.algorithm, "op": layer.op, "dtype": layer.dtype,
        "n": layer.n, "c_in": layer.c_in, "c_out": layer.c_out,
        "spatial": list(layer.spatial), "kernel": layer.kernel, "stride": layer.stride,
        "padding": layer.padding, "dilation": layer.dilation, "groups": layer.groups,
        "bias": layer.bias, "output_shape": list(layer.output_shape), "flops": layer.flops,
        "available": cand.unavailable is None, "status": None, "error": None,
        "time_min_s": None, "time_median_s": None, "times_s": [], "repeat": repeat,
        "inner_loops": None, "gflops": None, "ratio_to_best_peer": None, "best_peer": None,
        "rel_error": None, "tolerance": tol, "checked": expected is not None, "passed": None,
    }
    if cand.unavailable is not None:
        record["status"] = "n/a"
        record["error"] = cand.unavailable
        return record
    try:
        timing = time_call(cand.call, repeat, min_timing)
        result = cand.to_numpy(timing.result)
    except Exception as exc:  # reported in the table, not raised
        record["status"] = "ERROR"
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["passed"] = False
        return record
    record.update(time_min_s=timing.best, time_median_s=timing.median,
                  times_s=list(timing.times), inner_loops=timing.inner,
                  gflops=layer.flops / timing.best / 1e9)
    if expected is None:
        record["status"] = "unchecked"
        return record
    err = relative_error(result, expected)
    ok = err <= tol and np.asarray(result).dtype == np.dtype(layer.dtype)
    record["rel_error"] = err if math.isfinite(err) else None
    record["passed"] = bool(ok)
    if cand.library == "fastconv":
        record["status"] = "ok" if ok else "FAIL"
        if not ok and np.asarray(result).dtype != np.dtype(layer.dtype):
            record["error"] = f"result dtype {np.asarray(result).dtype}, expected {layer.dtype}"
        elif not math.isfinite(err):
            record["error"] = "non-finite or wrongly shaped result"
    else:
        record["status"] = "ok" if ok else "differs"
    return record


def run_layer(layer, options, ref_cache):
    x, w, b = make_inputs(layer)
    expected = None
    if options.check:
        if layer.name not in ref_cache:
            ref_cache[layer.name] = compute_reference(layer, x, w, b)
        expected = ref_cache[layer.name]
    # Peers first: the fastconv rows are compared with the best of them.
    peers = peer_candidates(layer, x, w, b, options.threads) if options.peers else []
    peer_records = [run_candidate(layer, c, expected, options.repeat, options.min_timing)
                    for c in peers]
    timed = [r for r in peer_records if r["time_min_s"] is not None]
    best_peer = min(timed, key=lambda r: r["time_min_s"]) if timed else None
    own = fastconv_candidates(layer, x, w, b, options.algorithms)
    own_records = [run_candidate(layer, c, expected, options.repeat, options.min_timing)
                   for c in own]
    if best_peer is not None:
        for r in own_records:
            if r["time_min_s"] is not None:
                r["ratio_to_best_peer"] = r["time_min_s"] / best_peer["time_min_s"]
                r["best_peer"] = best_peer["impl"]
    return own_records + peer_records


def run_gemm(options, size=1024):
    """fastconv's GEMM kernel against ``numpy.matmul`` on a square float32 product.

    Returns None when this build has no GEMM kernel module.
    """
    gemm = _gemm_module()
    if gemm is None:
        return None
    rng = np.random.default_rng(size)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    flops = 2.0 * size ** 3
    record = {"m": size, "n": size, "k": size, "dtype": "float32", "flops": flops}
    threadpoolctl = _import_optional("threadpoolctl")
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

_COLUMNS = (("layer", 21, "<"), ("impl", 16, "<"), ("ms", 10, ">"), ("GFLOP/s", 9, ">"),
            ("ratio", 7, ">"), ("rel.err", 9, ">"), ("status", 9, "<"))


def _fmt_row(values):
    """Align ``values`` under the columns; a shorter row's last value runs on freely."""
    cells = [f"{v:{align}{width}}" for v, (_, width, align) in zip(values[:-1], _COLUMNS)]
    cells.append(str(values[-1]) if len(values) < len(_COLUMNS)
                 else f"{values[-1]:{_COLUMNS[-1][2]}{_COLUMNS[-1][1]}}")
    return "  ".join(cells).rstrip()


def format_record(r):
    if not r["available"]:
        return _fmt_row([r["layer"], r["impl"], r["error"]])
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
    parser.add_argument("--layers", nargs="+", default=None, metavar="NAME",
                        help="layers to run: exact names, or substrings of names "
                             "(default: all); see --list")
    parser.add_argument("--algorithms", nargs="+", default=None, metavar="ALG",
                        help="fastconv algorithms to time (default: all of "
                             f"{', '.join(fastconv.ALGORITHMS)})")
    parser.add_argument("--repeat", type=int, default=None, metavar="R",
                        help=f"timings per row; the minimum is reported "
                             f"(default {DEFAULT_REPEAT}, 1 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="one short timing per row (smoke test)")
    parser.add_argument("--json", default=None, metavar="FILE",
                        help="also write every record and the run's metadata to FILE")
    parser.add_argument("--no-peers", dest="peers", action="store_false",
                        help="time fastconv only (no PyTorch, SciPy or OpenCV)")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip the comparison with fastconv.reference")
    parser.add_argument("--list", action="store_true",
                        help="list the layers of the suite and exit")
    return parser


def build_parser(prog="python -m fastconv bench"):
    parser = argparse.ArgumentParser(
        prog=prog, description="Time fastconv on typical layers against PyTorch, SciPy "
                               "and OpenCV, checking every result.")
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


def resolve_options(args, parser):
    """Check the parsed arguments (``parser.error`` exits with status 2)."""
    if args.threads == 0:
        parser.error("--threads must not be 0 (use a positive count, or -1 for all cores)")
    if args.repeat is not None and args.repeat < 1:
        parser.error(f"--repeat must be >= 1, got {args.repeat}")
    algorithms = tuple(args.algorithms or fastconv.ALGORITHMS)
    unknown = [a for a in algorithms if a not in fastconv.ALGORITHMS]
    if unknown:
        parser.error(f"--algorithms: unknown {', '.join(unknown)}; available: "
                     f"{', '.join(fastconv.ALGORITHMS)}")
    args.algorithms = tuple(dict.fromkeys(algorithms))
    args.layer_list = select_layers(args.layers, parser)
    if args.repeat is None:
        args.repeat = 1 if args.quick else DEFAULT_REPEAT
    args.min_timing = QUICK_MIN_TIMING if args.quick else MIN_TIMING
    return args


def run(args, stream=None):
    """Run the benchmark described by parsed (and resolved) arguments.

    Returns
    -------
    int
        0 when every fastconv result passed its check, 1 otherwise.
    """
    out = stream or sys.stdout

    def emit(line=""):
        print(line, file=out, flush=True)

    if args.list:
        for layer in LAYERS:
            emit(f"{layer.name:21}  {layer.describe()}")
        return 0

    previous = getattr(getattr(fastconv, "_threads", None), "_user_threads", None)
    torch = _import_optional("torch") if args.peers else None
    torch_threads = torch.get_num_threads() if torch is not None else None
    cv2 = _import_optional("cv2") if args.peers else None
    cv2_threads = cv2.getNumThreads() if cv2 is not None else None
    try:
        if args.threads is not None:
            fastconv.set_num_threads(args.threads)
        args.threads = fastconv.get_num_threads()
        meta = machine_info(args.threads)
        emit(header_line(meta))
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
    finally:
        fastconv.set_num_threads(previous)
        if torch_threads is not None:
            torch.set_num_threads(torch_threads)
        if cv2_threads is not None:
            cv2.setNumThreads(cv2_threads)

    failures = [r for r in records if r["library"] == "fastconv" and r["passed"] is False]
    meta["load_average_end"] = _load_average()
    emit()
    emit("ms: fastest of the timings; GFLOP/s: 2 * multiply-accumulates of the direct "
         "definition per second;")
    emit("ratio: fastconv time / fastest other library (< 1: fastconv is faster); "
         "rel.err: max|result - reference| / max|reference|")
    if failures:
        emit(f"{len(failures)} fastconv result(s) FAILED: "
             + ", ".join(f"{r['layer']} {r['impl']}" for r in failures))
    if args.json:
        meta.update(gemm=gemm, repeat=args.repeat, quick=args.quick,
                    min_timing_s=args.min_timing, algorithms=list(args.algorithms),
                    peers=args.peers, check=args.check, tolerance=TOLERANCE,
                    layers=[asdict(layer) for layer in args.layer_list],
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
        The exit status: 0 when every fastconv result is within tolerance,
        1 when one fails its check or raises.

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
