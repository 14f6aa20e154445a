"""The ``tiny`` suite of ``python -m fastconv bench --suite tiny``: the cost of one call
on small inputs, where the Python layer, not the arithmetic, sets the time.

Users who filter many small patches, signals or feature maps in a loop pay a
call's fixed cost every time. The rows:

* ``tiny_conv1d``, ``tiny_conv2d``, ``tiny_conv3d``: 4 -> 4 channels, 3-tap
  kernels, padding 1, on 64 samples, 8 x 8 and 8 x 8 x 8 (bias included),
  against PyTorch's ``conv{N}d`` *including* ``torch.from_numpy`` of the
  arguments and ``.numpy()`` of the result (what a NumPy user pays); plus
  every algorithm, a plan and a tuned plan;
* ``tiny_signal64_k5``: a 64-sample signal and 5 taps, ``mode="same"``
  (:func:`fastconv.correlate`, and :func:`fastconv.convolve` with the kernel
  reversed: the same result) against ``numpy.correlate``/``numpy.convolve``,
  ``scipy.signal.correlate``/``convolve`` and OpenCV ``filter2D`` on the
  signal as a one-row image;
* ``tiny_img32_3x3``: a 32 x 32 image and a 3 x 3 kernel, ``mode="same"``
  with zero fill, against OpenCV ``filter2D``, ``scipy.ndimage.correlate``
  and ``scipy.signal.correlate``/``convolve``.

Every row is checked against :mod:`fastconv.reference` like the layer suite
(the records and the table are :mod:`fastconv._bench`'s); the ``auto`` row
names the algorithm it chose and is flagged when another algorithm was
faster.
"""
import numpy as np

import fastconv
from fastconv import _bench
from fastconv._bench import Candidate, Layer

SUITES = ("tiny",)

#: The rows of the suite, in the order they run.
LAYERS = (
    Layer("tiny_conv1d", "conv1d", 1, 4, 4, (64,), 3, 1, 1),
    Layer("tiny_conv2d", "conv2d", 1, 4, 4, (8, 8), 3, 1, 1),
    Layer("tiny_conv3d", "conv3d", 1, 4, 4, (8, 8, 8), 3, 1, 1),
    Layer("tiny_signal64_k5", "correlate", 1, 1, 1, (64,), 5, 1, 2, bias=False),
    Layer("tiny_img32_3x3", "correlate", 1, 1, 1, (32, 32), 3, 1, 1, bias=False),
)


def _select(args):
    patterns = args.layers
    if not patterns:
        return list(LAYERS)
    return [layer for layer in LAYERS
            if any(p == layer.name or p in layer.name for p in patterns)]


def list_suite(name, args, emit):
    """Print the rows of the suite (``--list``)."""
    for layer in _select(args):
        emit(f"{layer.name:23}  {layer.describe()}")


def _flipped(w):
    return np.ascontiguousarray(w[(slice(None, None, -1),) * w.ndim])


def own_candidates(layer, data, algorithms):
    """The layer suite's fastconv rows, and ``fastconv/convolve`` for the filters
    (:func:`fastconv.convolve` with the kernel reversed, the same result)."""
    cands = _bench.fastconv_candidates(layer, data, algorithms)
    if layer.op == "correlate":
        sig, ker = data["x"][0, 0], _flipped(data["w"][0, 0])
        cands.append(Candidate("fastconv/convolve", "fastconv", "auto",
                               call=lambda: fastconv.convolve(sig, ker, mode="same"),
                               to_numpy=_bench.image_output))
    return cands


def _torch_conv(layer, data, torch):
    """PyTorch's call as a NumPy user makes it: arrays in, array out."""
    op = getattr(torch.nn.functional, f"conv{layer.nd}d")
    x, w, b = data["x"], data["w"], data["b"]
    geometry = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
                    groups=layer.groups)

    def call():
        with torch.no_grad():
            return op(torch.from_numpy(x), torch.from_numpy(w),
                      None if b is None else torch.from_numpy(b), **geometry).numpy()
    return Candidate("torch+numpy", "torch", None, call=call)


def peer_candidates(layer, data, threads=1):
    """The other libraries' calls of a tiny row (those installed)."""
    peers = []
    if layer.op in ("conv1d", "conv2d", "conv3d"):
        torch = _bench.import_optional("torch")
        if torch is not None:
            torch.set_num_threads(threads)   # bench.run() restores the previous count
            peers.append(_torch_conv(layer, data, torch))
        return peers
    sig, ker = data["x"][0, 0], data["w"][0, 0]
    flipped = _flipped(ker)
    out = _bench.image_output
    if layer.nd == 1:
        peers.append(Candidate("np.correlate", "numpy", None, to_numpy=out,
                               call=lambda: np.correlate(sig, ker, mode="same")))
        peers.append(Candidate("np.convolve", "numpy", None, to_numpy=out,
                               call=lambda: np.convolve(sig, flipped, mode="same")))
    signal = _bench.import_optional("scipy.signal")
    if signal is not None:
        peers.append(Candidate("scipy.signal.corr", "scipy", None, to_numpy=out,
                               call=lambda: signal.correlate(sig, ker, mode="same")))
        peers.append(Candidate("scipy.signal.conv", "scipy", None, to_numpy=out,
                               call=lambda: signal.convolve(sig, flipped, mode="same")))
    if layer.nd == 2:
        ndimage = _bench.import_optional("scipy.ndimage")
        if ndimage is not None:
            peers.append(Candidate(
                "scipy.ndimage", "scipy", None, to_numpy=out,
                call=lambda: ndimage.correlate(sig, ker, mode="constant", cval=0.0)))
    cv2 = _bench.import_optional("cv2")
    if cv2 is not None:
        cv2.setNumThreads(threads)   # bench.run() restores the previous count
        # A 1-D signal is a one-row image for OpenCV.
        img = sig.reshape(1, -1) if layer.nd == 1 else sig
        k2 = ker.reshape(1, -1) if layer.nd == 1 else ker
        peers.append(Candidate(
            "cv2.filter2D", "opencv", None, to_numpy=lambda r: out(r.reshape(sig.shape)),
            call=lambda: cv2.filter2D(img, -1, k2, borderType=cv2.BORDER_CONSTANT)))
    return peers


def run_suite(name, args, emit):
    """Run the tiny suite with the layer suite's table and records."""
    emit()
    emit(_bench.fmt_row([c[0] for c in _bench.COLUMNS]))
    emit(_bench.fmt_row(["-" * c[1] for c in _bench.COLUMNS]))
    records, ref_cache = [], {}
    layers = _select(args)
    for layer in layers:
        layer_records = _bench.run_layer(
            layer, args, ref_cache,
            peers=lambda lay, d: peer_candidates(lay, d, args.threads), own=own_candidates)
        for r in layer_records:
            r["threads"] = args.threads
            r["time_us"] = None if r["time_min_s"] is None else r["time_min_s"] * 1e6
            emit(_bench.format_record(r))
        records.extend(layer_records)
    emit()
    emit("tiny rows: ms is the time of one call; torch+numpy includes torch.from_numpy of "
         "the arguments and .numpy() of the result.")
    for line in _bench.LEGEND:
        emit(line)
    return records, {"tiny_layers": [layer.name for layer in layers]}
