"""The ``ndimage`` suite of ``python -m fastconv bench``: fastconv.ndimage
against ``scipy.ndimage`` and OpenCV.

``python -m fastconv bench --suite ndimage`` times every filter of
:mod:`fastconv.ndimage` on a float32 2-D image of 4096 x 4096 and a float32
3-D volume of 256 x 256 x 256 (``--quick``: 512 x 512 and 64 x 64 x 64), with
``mode='reflect'``, next to:

* ``scipy.ndimage``'s function of the same name and arguments (SciPy runs on
  one thread whatever ``--threads`` says: it has no threading);
* OpenCV where it has the same filter with the same border
  (``cv2.BORDER_REFLECT``, SciPy's 'reflect'), on 2-D images:
  ``GaussianBlur``, ``Sobel``, ``boxFilter``, ``filter2D`` and ``Laplacian``,
  with ``cv2.setNumThreads`` set to the same count as fastconv.

Calls are interleaved (a round of fastconv and OpenCV, then the next), each
implementation keeps its fastest call; SciPy, 10 to 100 times slower, gets
fewer rounds. Every result is checked: fastconv's against SciPy's (the
largest difference relative to ``max|SciPy|``, within :data:`TOLERANCE`),
OpenCV's too (reported, not a failure: it is the peer). Each row gives the
two ratios fastconv / SciPy and fastconv / OpenCV and whether the issue's
targets (at most 0.1 and 1.0) are met; a fastconv result outside its
tolerance fails the run.
"""
import math
import time
import zlib
from dataclasses import dataclass, field

import numpy as np

from fastconv import _bench
from fastconv import ndimage

SUITES = ("ndimage",)
#: The shapes of the suite: (2-D, 3-D), full and ``--quick``.
SHAPES = {False: ((4096, 4096), (256, 256, 256)), True: ((512, 512), (64, 64, 64))}
#: Largest ``max|fastconv - scipy| / max|scipy|`` of a float32 result.
TOLERANCE = 1e-5
#: The speed targets: fastconv's time over SciPy's and over OpenCV's.
TARGETS = {"scipy": 0.1, "cv2": 1.0}
#: SciPy is timed in one round of every SCIPY_ROUND_DIVISOR of the
#: interleaved timing (``--repeat`` rounds; fastconv and OpenCV in each).
SCIPY_ROUND_DIVISOR = 3


def _kernel(k, nd, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((k,) * nd) / k ** nd


@dataclass(frozen=True)
class Row:
    """One filter call: ``fastconv.ndimage.<func>(x, *args, **kwargs)`` and its
    OpenCV equivalent ``cv2(cv2_module, x)`` (2-D only), or None."""

    name: str
    func: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict, hash=False)
    cv2: object = field(default=None, hash=False)
    nd: tuple = (2, 3)


_REFLECT = "BORDER_REFLECT"


def _cv(name, *args, **kw):
    """An OpenCV call with SciPy's 'reflect' border."""
    def call(cv2, x):
        return getattr(cv2, name)(x, *args, borderType=getattr(cv2, _REFLECT), **kw)
    return call


def _cv_ddepth(name, *args, **kw):
    def call(cv2, x):
        return getattr(cv2, name)(x, cv2.CV_32F, *args, borderType=getattr(cv2, _REFLECT), **kw)
    return call


def _filter2d(kernel):
    def call(cv2, x):
        return cv2.filter2D(x, -1, kernel.astype(np.float32),
                            borderType=getattr(cv2, _REFLECT))
    return call


_W3 = _kernel(3, 2, 3)
_W5 = _kernel(5, 2, 5)
_W3D = _kernel(3, 3, 7)
_W1D = np.array([1.0, 4.0, 6.0, 4.0, 1.0, -2.0, 0.5, 3.0, 1.0]) / 16


def _d2(input, axis, output, mode, cval):
    return ndimage.correlate1d(input, [1, -2, 1], axis, output, mode, cval, 0)


def _d2_scipy(input, axis, output, mode, cval):
    import scipy.ndimage
    return scipy.ndimage.correlate1d(input, [1, -2, 1], axis, output, mode, cval, 0)


#: The rows: every filter of fastconv.ndimage (sigma 2 and truncate 4 make
#: Gaussians of 17 taps, OpenCV's ksize for sigma 2 in float32).
ROWS = (
    Row("gaussian_filter_s2", "gaussian_filter", (2.0,),
        cv2=_cv("GaussianBlur", (17, 17), 2.0)),
    Row("gaussian_filter1d_s2", "gaussian_filter1d", (2.0,),
        cv2=_cv("GaussianBlur", (17, 1), 2.0, sigmaY=0)),
    Row("uniform_filter_5", "uniform_filter", (5,),
        cv2=lambda cv2, x: cv2.boxFilter(x, -1, (5, 5), borderType=cv2.BORDER_REFLECT)),
    Row("uniform_filter1d_5", "uniform_filter1d", (5,),
        cv2=lambda cv2, x: cv2.boxFilter(x, -1, (5, 1), borderType=cv2.BORDER_REFLECT)),
    Row("sobel", "sobel", (), cv2=_cv_ddepth("Sobel", 1, 0, ksize=3)),
    Row("prewitt", "prewitt"),
    Row("laplace", "laplace", (), cv2=_cv_ddepth("Laplacian", ksize=1)),
    Row("gaussian_laplace_s2", "gaussian_laplace", (2.0,)),
    Row("gaussian_gradient_magnitude_s2", "gaussian_gradient_magnitude", (2.0,)),
    Row("correlate_3x3", "correlate", (_W3,), cv2=_filter2d(_W3), nd=(2,)),
    Row("correlate_5x5", "correlate", (_W5,), cv2=_filter2d(_W5), nd=(2,)),
    Row("convolve_3x3", "convolve", (_W3,), cv2=_filter2d(_W3[::-1, ::-1]), nd=(2,)),
    Row("correlate_3x3x3", "correlate", (_W3D,), nd=(3,)),
    Row("correlate1d_9", "correlate1d", (_W1D,), cv2=_filter2d(_W1D[None, :])),
    Row("convolve1d_9", "convolve1d", (_W1D,), cv2=_filter2d(_W1D[None, ::-1])),
    Row("generic_laplace", "generic_laplace", (_d2,)),
    Row("generic_gradient_magnitude", "generic_gradient_magnitude", (ndimage.sobel,)),
)


def _rows(quick):
    """``(row, shape)`` pairs of the suite."""
    shapes = SHAPES[bool(quick)]
    return [(row, shape) for shape in shapes for row in ROWS if len(shape) in row.nd]


def _label(row, shape):
    return f"{row.name}_{'x'.join(map(str, shape))}"


def list_suite(name, args, emit):
    """Print the rows (``--list``)."""
    for row, shape in _rows(args.quick):
        peers = "scipy" + (", cv2" if row.cv2 is not None and len(shape) == 2 else "")
        emit(f"{_label(row, shape):42}  ndimage.{row.func} {'x'.join(map(str, shape))} "
             f"float32 vs {peers}")


def _scipy_args(row):
    """The row's arguments with fastconv's callables swapped for SciPy's."""
    import scipy.ndimage
    swap = {_d2: _d2_scipy, ndimage.sobel: scipy.ndimage.sobel}
    return tuple(swap.get(a, a) if callable(a) else a for a in row.args)


def time_interleaved(calls, rounds, slow=()):
    """Interleaved timing: round after round, each call of ``calls`` (a dict
    name -> function) once; names in ``slow`` only every few rounds. Returns
    name -> (result of the first call, list of times)."""
    results, times = {}, {name: [] for name in calls}
    for name, fn in calls.items():          # warm-up, and the checked result
        results[name] = fn()
    for r in range(rounds):
        for name, fn in calls.items():
            if name in slow and r % SCIPY_ROUND_DIVISOR:
                continue
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: (results[name], times[name]) for name in calls}


def _rel_error(result, expected):
    return _bench.relative_error(np.asarray(result, np.float64), np.asarray(expected, np.float64))


def run_row(row, shape, args, cv2, scipy_ndimage):
    """Time and check one row; returns its records (fastconv first)."""
    rng = np.random.default_rng(zlib.crc32(_label(row, shape).encode()))
    x = rng.standard_normal(shape, dtype=np.float32)
    calls = {"fastconv": lambda: getattr(ndimage, row.func)(x, *row.args, **row.kwargs)}
    if cv2 is not None and row.cv2 is not None and len(shape) == 2:
        calls["cv2"] = lambda: row.cv2(cv2, x)
    if scipy_ndimage is not None:
        sargs = _scipy_args(row)
        calls["scipy"] = lambda: getattr(scipy_ndimage, row.func)(x, *sargs, **row.kwargs)
    timed = time_interleaved(calls, max(args.repeat, 1), slow=("scipy",))
    expected = timed["scipy"][0] if "scipy" in timed else None
    records = []
    label = _label(row, shape)
    for library, (result, times) in timed.items():
        rec = {"layer": label, "filter": row.func, "impl": library, "library": library,
               "shape": list(shape), "dtype": "float32", "threads": args.threads,
               "time_min_s": min(times) if times else None,
               "time_median_s": float(np.median(times)) if times else None,
               "times_s": times, "rel_error": None, "checked": expected is not None,
               "passed": None, "status": "unchecked"}
        if expected is not None and library != "scipy":
            err = _rel_error(result, expected)
            rec["rel_error"] = err if math.isfinite(err) else None
            ok = err <= TOLERANCE and np.asarray(result).dtype == np.float32
            rec["passed"] = bool(ok) if library == "fastconv" else None
            rec["status"] = ("ok" if ok else "FAIL") if library == "fastconv" else (
                "ok" if ok else "differs")
        elif library == "scipy":
            rec["status"] = "oracle"
        records.append(rec)
    own = records[0]
    for peer in records[1:]:
        if own["time_min_s"] and peer["time_min_s"]:
            ratio = own["time_min_s"] / peer["time_min_s"]
            own[f"ratio_to_{peer['library']}"] = ratio
            own[f"target_{peer['library']}_met"] = ratio <= TARGETS[peer["library"]]
    return records


_COLUMNS = (("filter", 42, "<"), ("fastconv ms", 11, ">"), ("cv2 ms", 9, ">"),
            ("scipy ms", 9, ">"), ("/cv2", 6, ">"), ("/scipy", 7, ">"), ("rel.err", 8, ">"),
            ("status", 6, "<"))


def _row_text(values):
    return "  ".join(f"{v:{a}{w}}" for v, (_, w, a) in zip(values, _COLUMNS)).rstrip()


def format_row(records):
    by = {r["library"]: r for r in records}
    own = by["fastconv"]

    def ms(lib):
        r = by.get(lib)
        return "-" if r is None or r["time_min_s"] is None else f"{r['time_min_s'] * 1e3:.1f}"

    def ratio(lib):
        v = own.get(f"ratio_to_{lib}")
        if v is None:
            return "-"
        return f"{v:.2f}" + ("" if own[f"target_{lib}_met"] else "!")

    err = "-" if own["rel_error"] is None else f"{own['rel_error']:.0e}"
    return _row_text([own["layer"], ms("fastconv"), ms("cv2"), ms("scipy"), ratio("cv2"),
                      ratio("scipy"), err, own["status"]])


LEGEND = (
    "ms: fastest call; /cv2, /scipy: fastconv's time over the peer's (targets: <= 1.0 and "
    "<= 0.1; '!' marks a missed target);",
    "rel.err: max|fastconv - scipy| / max|scipy|; SciPy runs on one thread, OpenCV with "
    "cv2.setNumThreads(threads), border REFLECT = mode 'reflect'.",
)


def run_suite(name, args, emit):
    """Run the ndimage suite; returns ``(records, extra)``."""
    cv2 = _bench.import_optional("cv2") if args.peers else None
    scipy_ndimage = _bench.import_optional("scipy.ndimage") if (args.peers or args.check) \
        else None
    if cv2 is not None:
        cv2.setNumThreads(args.threads)
    emit(_row_text([c[0] for c in _COLUMNS]))
    emit(_row_text(["-" * c[1] for c in _COLUMNS]))
    records = []
    for row, shape in _rows(args.quick):
        recs = run_row(row, shape, args, cv2, scipy_ndimage)
        emit(format_row(recs))
        records.extend(recs)
    emit()
    for line in LEGEND:
        emit(line)
    own = [r for r in records if r["library"] == "fastconv"]
    extra = {"ndimage": {
        "tolerance": TOLERANCE, "targets": TARGETS,
        "targets_missed": [r["layer"] + f" ({lib})" for r in own for lib in TARGETS
                           if r.get(f"target_{lib}_met") is False]}}
    return records, extra
