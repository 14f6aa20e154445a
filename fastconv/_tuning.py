"""Measured algorithm choices ("wisdom"): timing candidates, keeping, saving, loading.

FFTW's ``FFTW_MEASURE`` and wisdom files are the model. A *measurement*
times every candidate a caller hands over (the fastest wins); its result is
kept as a wisdom *entry* under a key describing the problem and the place it
was measured; :mod:`fastconv._dispatch` asks for an entry when it chooses an
algorithm for ``algorithm="auto"``. Nothing else in the engine reads wisdom:
this module knows neither the algorithms nor the kernels, only keys, timings
and files.

Keys
----
An entry's key holds the problem (:data:`PROBLEM_FIELDS`: operation, input
and weight shapes, stride, padding, dilation, groups, padding mode, dtype,
layout, and ``use``: ``"plan"`` when the weights are prepared once by a
plan, ``"call"`` when a plain call prepares them every time) and where it was
measured (:data:`PLACE_FIELDS`: SIMD level, thread count, CPU model and
fastconv version). An entry matches only a call with the same problem on the
same CPU model, with the same fastconv version, SIMD level and thread count:
entries of another machine or version are never used (a file holding them
is read with a warning and they are dropped), entries of another thread
count or SIMD level are kept and used when that setting is in effect.

Files
-----
JSON: ``{"format": "fastconv-wisdom", "format_version": 1, "entries": [...]}``,
each entry ``{"key": {...}, "algorithm": str, "variant": {str: int},
"seconds": float, "measured": {label: seconds}}``. A file that is not of
this format, or holds a malformed entry, is ignored as a whole with a
:class:`RuntimeWarning`: wisdom is an optimisation, never a reason to fail.

Thread safety: entries are added and replaced under a lock, and a lookup
reads one dictionary item; measurements run outside the lock, so two
threads may tune at the same time (each keeps what it measured; the later
entry for the same key replaces the earlier one).
"""
import contextlib
import json
import math
import os
import threading
import time
import warnings

from fastconv._config import cpu_model
from fastconv._kernels import _gemm
from fastconv._threads import get_num_threads
from fastconv._version import __version__

__all__ = ["export_wisdom", "import_wisdom", "forget_wisdom"]

#: The environment variable naming a wisdom file read when fastconv is imported.
ENV_VAR = "FASTCONV_WISDOM"
FORMAT = "fastconv-wisdom"
FORMAT_VERSION = 1
#: The fields of a key that describe the problem, in the order of the
#: lookup tuple (the arguments of :func:`lookup` and :func:`record`).
PROBLEM_FIELDS = ("use", "op", "input_shape", "weight_shape", "stride", "pad_before",
                  "pad_after", "dilation", "groups", "padding_mode", "dtype", "layout")
#: The fields that describe where an entry was measured.
PLACE_FIELDS = ("isa", "threads", "cpu", "fastconv_version")
USES = ("plan", "call")
_TUPLE_FIELDS = ("input_shape", "weight_shape", "stride", "pad_before", "pad_after",
                 "dilation")
_STR_FIELDS = ("use", "op", "padding_mode", "dtype", "layout", "isa", "cpu",
               "fastconv_version")

_lock = threading.RLock()
#: (problem tuple + (isa, threads)) -> entry, for this machine and version.
_entries = {}
_machine = None


def _this_machine():
    """``(cpu, fastconv_version)`` of this process (read once)."""
    global _machine
    if _machine is None:
        _machine = (cpu_model(), __version__)
    return _machine


def has_entries():
    """True when there is at least one entry (a plain check for the hot path)."""
    return bool(_entries)


def _full_key(problem, isa, threads):
    return problem + (isa, threads)


def lookup(problem):
    """The entry for the problem tuple (see :data:`PROBLEM_FIELDS`) at the
    current SIMD level and thread count, or None."""
    if not _entries:
        return None
    return _entries.get(_full_key(problem, _gemm.isa_get(), get_num_threads()))


def _key_dict(full):
    cpu, version = _this_machine()
    key = dict(zip(PROBLEM_FIELDS + ("isa", "threads"), full))
    key.update(cpu=cpu, fastconv_version=version)
    for name in _TUPLE_FIELDS:
        key[name] = list(key[name])
    return key


def record(problem, algorithm, variant, seconds, measured):
    """Keep the result of a measurement of ``problem`` at the current SIMD
    level and thread count; return the entry."""
    full = _full_key(problem, _gemm.isa_get(), get_num_threads())
    entry = {"key": _key_dict(full), "algorithm": algorithm, "variant": dict(variant),
             "seconds": float(seconds), "measured": dict(measured)}
    with _lock:
        _entries[full] = entry
    return entry


def measure(candidates, budget, *, rounds=7):
    """Time candidates, interleaved, within about ``budget`` seconds.

    Parameters
    ----------
    candidates : list of (label, callable)
        In order of preference: the first is always timed (at least once,
        whatever the budget), the others while the budget lasts.
    budget : float
        Seconds. A candidate is timed again only if its last time still fits
        before the deadline; round after round (at most ``rounds``), each
        candidate is timed once, so slow moments of the machine fall on all
        of them alike.

    Returns
    -------
    dict
        label -> the fastest of its timings, in seconds (``inf`` for a
        candidate the budget left untimed).
    """
    best = {label: math.inf for label, _ in candidates}
    deadline = time.perf_counter() + budget
    for r in range(rounds):
        timed_any = False
        for i, (label, fn) in enumerate(candidates):
            now = time.perf_counter()
            known = best[label] if math.isfinite(best[label]) else 0.0
            if (r or i) and now + known > deadline:
                continue
            start = time.perf_counter()
            fn()
            best[label] = min(best[label], time.perf_counter() - start)
            timed_any = True
        if not timed_any or time.perf_counter() >= deadline:
            break
    return best


def _entry_list():
    with _lock:
        return [dict(e, key=dict(e["key"])) for e in _entries.values()]


def export_wisdom(path):
    """Write the wisdom of this process to a file.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (replaced atomically: a reader never sees half of
        it).

    Returns
    -------
    int
        The number of entries written.

    See Also
    --------
    import_wisdom, forget_wisdom

    Examples
    --------
    >>> import os, tempfile, numpy as np, fastconv
    >>> w = np.ones((16, 16, 3, 3), np.float32)
    >>> plan = fastconv.plan_conv2d(w, (1, 16, 12, 12), padding=1, tune=True,
    ...                             tune_budget=0.05)
    >>> path = os.path.join(tempfile.mkdtemp(), "wisdom.json")
    >>> fastconv.export_wisdom(path) >= 1
    True
    >>> fastconv.forget_wisdom()
    >>> fastconv.import_wisdom(path) >= 1
    True
    """
    entries = _entry_list()
    data = {"format": FORMAT, "format_version": FORMAT_VERSION, "entries": entries}
    path = os.fspath(path)
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return len(entries)


class _Malformed(ValueError):
    pass


def _check_entry(e):
    """The lookup key of a well-formed entry; :class:`_Malformed` otherwise."""
    if not isinstance(e, dict) or not isinstance(e.get("key"), dict):
        raise _Malformed("an entry is not an object with a 'key' object")
    key = e["key"]
    missing = [f for f in PROBLEM_FIELDS + PLACE_FIELDS if f not in key]
    if missing:
        raise _Malformed(f"an entry's key lacks {', '.join(missing)}")
    for name in _TUPLE_FIELDS:
        v = key[name]
        if not (isinstance(v, list) and all(type(i) is int and i >= 0 for i in v)):
            raise _Malformed(f"key field {name!r} must be a list of non-negative ints, "
                             f"got {v!r}")
    for name in _STR_FIELDS:
        if not isinstance(key[name], str):
            raise _Malformed(f"key field {name!r} must be a string, got {key[name]!r}")
    for name in ("groups", "threads"):
        if type(key[name]) is not int or key[name] < 1:
            raise _Malformed(f"key field {name!r} must be a positive int, got {key[name]!r}")
    if key["use"] not in USES:
        raise _Malformed(f"key field 'use' must be one of {USES}, got {key['use']!r}")
    if not isinstance(e.get("algorithm"), str):
        raise _Malformed(f"an entry's algorithm must be a string, got {e.get('algorithm')!r}")
    variant = e.get("variant", {})
    if not (isinstance(variant, dict)
            and all(isinstance(k, str) and type(v) is int and v > 0
                    for k, v in variant.items())):
        raise _Malformed(f"an entry's variant must map names to positive ints, got {variant!r}")
    seconds = e.get("seconds", 0.0)
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        raise _Malformed(f"an entry's seconds must be a number, got {seconds!r}")
    problem = tuple(tuple(key[f]) if f in _TUPLE_FIELDS else key[f] for f in PROBLEM_FIELDS)
    return problem + (key["isa"], key["threads"])


def _read(path):
    """The entries of a wisdom file as ``[(lookup key, entry, foreign)]``;
    :class:`_Malformed` (or OSError) when it is not a wisdom file."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Malformed(f"not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _Malformed(f"not a fastconv wisdom file (no \"format\": \"{FORMAT}\")")
    if data.get("format_version") != FORMAT_VERSION:
        raise _Malformed(f"format_version {data.get('format_version')!r}, this fastconv "
                         f"reads {FORMAT_VERSION}")
    entries = data.get("entries")
    if not isinstance(entries, list):
        raise _Malformed("'entries' is not a list")
    cpu, version = _this_machine()
    out = []
    for e in entries:
        full = _check_entry(e)
        foreign = e["key"]["cpu"] != cpu or e["key"]["fastconv_version"] != version
        out.append((full, e, foreign))
    return out


def import_wisdom(path):
    """Add the entries of a wisdom file to this process's wisdom.

    Entries for this CPU model and fastconv version are kept (an entry
    replaces one of the same key); entries of another machine or version
    are dropped with a warning. A file that is not a wisdom file or holds a
    malformed entry is ignored as a whole, with a warning: wisdom only ever
    makes fastconv faster, it is never a reason for a call to fail.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`export_wisdom` (or ``python -m fastconv tune``).

    Returns
    -------
    int
        The number of entries kept.

    Raises
    ------
    OSError
        If the file cannot be read (for example, it does not exist).

    Warns
    -----
    RuntimeWarning
        For a corrupt or foreign file (ignored), or for entries of another
        machine or fastconv version (dropped).

    See Also
    --------
    export_wisdom, forget_wisdom

    Examples
    --------
    >>> import os, tempfile, warnings, fastconv
    >>> path = os.path.join(tempfile.mkdtemp(), "not-wisdom.json")
    >>> with open(path, "w") as f:
    ...     _ = f.write("{oops")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     fastconv.import_wisdom(path)
    0
    >>> "ignored" in str(caught[0].message)
    True
    """
    path = os.fspath(path)
    try:
        items = _read(path)
    except _Malformed as exc:
        warnings.warn(f"wisdom file {path!r} ignored: {exc}", RuntimeWarning, stacklevel=2)
        return 0
    foreign = sum(1 for _, _, f in items if f)
    if foreign:
        warnings.warn(f"wisdom file {path!r}: {foreign} of {len(items)} entries were "
                      f"measured on another CPU or fastconv version and are ignored",
                      RuntimeWarning, stacklevel=2)
    kept = [(full, e) for full, e, f in items if not f]
    with _lock:
        for full, e in kept:
            _entries[full] = e
    return len(kept)


def forget_wisdom():
    """Forget every wisdom entry of this process (files are not touched).

    ``algorithm="auto"`` then follows its measured rules again, and
    ``tune=True`` measures anew.

    Returns
    -------
    None

    Examples
    --------
    >>> import fastconv
    >>> fastconv.forget_wisdom()
    """
    with _lock:
        _entries.clear()


def load_from_environment():
    """Import the file named by :data:`ENV_VAR`, if set (at ``import fastconv``).

    Never raises: an unreadable or corrupt file gives a warning.
    """
    path = os.environ.get(ENV_VAR, "").strip()
    if not path:
        return 0
    try:
        return import_wisdom(path)
    except OSError as exc:
        warnings.warn(f"{ENV_VAR}={path!r} ignored: {exc}", RuntimeWarning, stacklevel=2)
        return 0


def count():
    """The number of entries (this machine and version)."""
    return len(_entries)


@contextlib.contextmanager
def scoped():
    """Within the block, wisdom may change; after it, the entries are those of
    before (the bench measures tuned plans without leaving their wisdom to
    the rows that follow)."""
    with _lock:
        saved = dict(_entries)
    try:
        yield
    finally:
        with _lock:
            _entries.clear()
            _entries.update(saved)
