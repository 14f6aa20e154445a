"""``python -m fastconv bench --suite dask``: fastconv.dask against dask-image.

Both libraries run on the same ``distributed.LocalCluster`` (two worker
processes of one thread each), in this one process, interleaved, the minimum
of ``--repeat`` timings of one compute each. The input is generated on the
workers and kept there (``persist``) before timing; the timed graph ends in
a per-block maximum (the same for both libraries), so only a few numbers
travel back.

Rows: ``fastconv.dask.correlate`` against ``dask_image.ndfilters.correlate``
(``mode="same"``, boundary ``reflect``) on a float32 image (16384 x 16384 in
2048 x 2048 chunks; ``--quick``: 4096 x 4096 in 1024 x 1024) with 5 x 5 to
11 x 11 kernels and a volume (512^3 in 128^3 chunks; quick: 256^3 in 64^3)
with 5 x 5 x 5; a ResNet-style 3 x 3, 64 -> 64 conv2d over N = 256
images of 56 x 56 chunked by 16 (quick: N = 32) against the same layer in
memory; and ``fastconv.dask.ndimage``'s ``gaussian_filter`` (sigma 3),
``uniform_filter`` (7) and ``sobel`` on the image against the functions of
the same name in ``dask_image.ndfilters`` (``--layers`` runs the rows whose
names contain one of its words, e.g. ``--layers ndimage``). Checked before timing on a crop with the same chunks: fastconv.dask
bitwise equal to the in-memory function, dask-image within float32 rounding.
"""
import math
import time

import numpy as np

import fastconv
from fastconv import ndimage as in_memory
from fastconv._bench import time_once

try:            # optional: the suite says what is missing
    import dask.array as da
    import distributed
    import fastconv.dask as fd
    import fastconv.dask.ndimage as fdn
except ImportError:
    da = distributed = fd = fdn = None

SUITES = ("dask",)
_REL_TOL = 1e-5          # dask-image (SciPy in float32 or float64) vs fastconv, relative to max|y|


def _selected(args):
    """The rows of ``--layers`` (names or substrings of names; all by default)."""
    patterns = getattr(args, "layers", None)
    return [row for row in _rows(args.quick)
            if not patterns or any(p in _name(row) for p in patterns)]


def _rows(quick):
    image = (4096, 1024) if quick else (16384, 2048)
    volume = (256, 64) if quick else (512, 128)
    rows = [("correlate2d", image[0], image[1], k) for k in (5, 7, 9, 11)]
    rows.append(("correlate3d", volume[0], volume[1], 5))
    rows.append(("conv2d_resnet", 32 if quick else 256, 16, 3))
    rows += [(f"ndimage:{f}", image[0], image[1], a) for f, a in NDIMAGE_ROWS]
    return rows


#: ``fastconv.dask.ndimage`` rows: (filter, its argument) on the 2-D image,
#: against the ``dask_image.ndfilters`` function of the same name.
NDIMAGE_ROWS = (("gaussian_filter", 3.0), ("uniform_filter", 7), ("sobel", 0))


def _ndimage_call(module, fn, arg):
    """``module.fn`` (fastconv.dask.ndimage or dask_image.ndfilters) as a
    function of the input, with mode ``reflect``."""
    f = getattr(module, fn)
    return (lambda x: f(x, axis=arg, mode="reflect")) if fn == "sobel" else (
        lambda x: f(x, arg, mode="reflect"))


def _name(row):
    kind, size, chunk, k = row
    if kind == "conv2d_resnet":
        return f"conv2d 64->64 3x3 N={size} chunks of {chunk} (vs in-memory)"
    if kind.startswith("ndimage:"):
        return f"ndimage.{kind[8:]}({k}) {size}x{size} chunks {chunk}^2"
    nd = 2 if kind == "correlate2d" else 3
    return (f"correlate {'x'.join([str(size)] * nd)} chunks {chunk}^{nd} "
            f"kernel {'x'.join([str(k)] * nd)}")


def list_suite(name, args, emit):
    for row in _selected(args):
        emit(_name(row))


def _kernel(k, nd):
    g = np.exp(-0.5 * (np.arange(k) - k // 2) ** 2 / max(k / 4, 1) ** 2)
    w = g
    for _ in range(nd - 1):
        w = np.multiply.outer(w, g)
    return (w / w.sum()).astype(np.float32)


def _blockmax(y):
    return y.map_blocks(lambda b: np.full((1,) * b.ndim, b.max(), b.dtype),
                        chunks=tuple((1,) * len(c) for c in y.chunks)).max()


def _crop(nd, chunk):
    """The checks' input: two chunks per axis plus a ragged edge, generated
    by the workers (a NumPy array wrapped with ``da.from_array`` would travel
    inside the task graph: tens of MiB, and Dask's large-graph warning)."""
    return da.random.default_rng(1).standard_normal((2 * chunk + 37,) * nd, chunks=chunk,
                                                    dtype=np.float32)


def _check_correlate(ndf, nd, chunk, w):
    """Bitwise check of fastconv.dask and a tolerance check of dask-image on a
    crop of two chunks per axis (plus a ragged edge), same chunks."""
    xd = _crop(nd, chunk)
    x = xd.compute()
    ref = fastconv.correlate(x, w, "same", boundary="reflect")
    ours = fd.correlate(xd, w, "same", boundary="reflect").compute()
    theirs = ndf.correlate(xd, w, mode="reflect").compute()
    err = float(np.max(np.abs(theirs - ref)) / max(float(np.max(np.abs(ref))), 1e-30))
    return bool(np.array_equal(ours, ref)), err


def run_suite(name, args, emit):
    if fd is None:
        raise SystemExit("--suite dask needs dask and distributed: "
                         "pip install \"fastconv[dask]\" (and dask-image for the peer)")
    try:
        import dask_image.ndfilters as ndf
    except ImportError:
        ndf = None
    records = []
    repeat = max(1, args.repeat)
    emit(f"{'row':<62} {'fastconv s':>10} {'peer s':>9} {'peer/fastconv':>13}  check")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        for row in _selected(args):
            kind, size, chunk, k = row
            rec = dict(layer=_name(row), library="fastconv", impl="fastconv.dask",
                       threads=args.threads, passed=None)
            if kind == "conv2d_resnet":
                x = da.random.default_rng(0).standard_normal((size, 64, 56, 56),
                                                            chunks=(chunk, 64, 56, 56),
                                                            dtype=np.float32)
                w = (np.random.default_rng(1).standard_normal((64, 64, 3, 3)) / 24
                     ).astype(np.float32)
                x = x.persist()
                distributed.wait(x)
                xd = x[:chunk + 3]                  # chunks (chunk, 3) of the batch
                rec["passed"] = bool(np.array_equal(fd.conv2d(xd, w, padding=1).compute(),
                                                    fastconv.conv2d(xd.compute(), w, padding=1)))
                xm = x.compute()
                ours = lambda: client.compute(_blockmax(fd.conv2d(x, w, padding=1))).result()
                peer = lambda: float(fastconv.conv2d(xm, w, padding=1).max())
                peer_name = "fastconv in memory"
            elif kind.startswith("ndimage:"):
                fn = kind[8:]
                ours_f = _ndimage_call(fdn, fn, k)
                xd = _crop(2, chunk)
                ref = _ndimage_call(in_memory, fn, k)(xd.compute())
                rec["passed"] = bool(np.array_equal(ours_f(xd).compute(), ref))
                peer_f = None if ndf is None else _ndimage_call(ndf, fn, k)
                if peer_f is not None:
                    theirs = peer_f(xd).compute()
                    rec["peer_rel_error"] = float(np.max(np.abs(theirs - ref))
                                                  / max(float(np.max(np.abs(ref))), 1e-30))
                x = da.random.default_rng(0).standard_normal((size, size), chunks=chunk,
                                                            dtype=np.float32).persist()
                distributed.wait(x)
                ours = lambda: client.compute(_blockmax(ours_f(x))).result()
                peer = None if peer_f is None else (
                    lambda: client.compute(_blockmax(peer_f(x))).result())
                peer_name = f"dask_image.ndfilters.{fn}"
            else:
                nd = 2 if kind == "correlate2d" else 3
                w = _kernel(k, nd)
                if ndf is None:
                    rec["passed"], rec["error"] = None, "dask-image is not installed"
                else:
                    rec["passed"], rec["peer_rel_error"] = _check_correlate(ndf, nd, chunk, w)
                x = da.random.default_rng(0).standard_normal((size,) * nd, chunks=chunk,
                                                            dtype=np.float32).persist()
                distributed.wait(x)
                ours = lambda: client.compute(
                    _blockmax(fd.correlate(x, w, "same", boundary="reflect"))).result()
                peer = None if ndf is None else (lambda: client.compute(
                    _blockmax(ndf.correlate(x, w, mode="reflect"))).result())
                peer_name = "dask_image.ndfilters.correlate"
            t_ours, t_peer = math.inf, math.inf
            for _ in range(repeat):            # interleaved
                t_ours = min(t_ours, time_once(ours).best)
                if peer is not None:
                    t_peer = min(t_peer, time_once(peer).best)
            ratio = t_peer / t_ours if peer is not None else None
            rec.update(seconds=t_ours, peer=peer_name,
                       peer_seconds=None if peer is None else t_peer, ratio=ratio)
            records.append(rec)
            check = {True: "ok", False: "FAIL", None: "n/a"}[rec["passed"]]
            if "peer_rel_error" in rec:
                check += f" (peer rel. err {rec['peer_rel_error']:.1e})"
            emit(f"{rec['layer']:<62} {t_ours:>10.3f} "
                 f"{(t_peer if peer is not None else math.nan):>9.3f} "
                 f"{(ratio or math.nan):>12.2f}x  {check}")
    emit()
    emit("peer/fastconv > 1: fastconv.dask is faster; 2 workers x 1 thread, "
         "each fastconv task on cores // the host's worker threads")
    return records, dict(dask_suite=dict(workers=2, threads_per_worker=1,
                                         date=time.strftime("%Y-%m-%d")))
