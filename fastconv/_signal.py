"""Signal and image filtering with SciPy's semantics: correlate and convolve.

:func:`correlate` and :func:`convolve` follow ``scipy.signal.correlate`` and
``scipy.signal.convolve`` (modes, output shapes, centering) for 1-D, 2-D and
3-D arrays, add the boundary rules of ``scipy.signal.convolve2d`` and
``scipy.ndimage``, and filter each channel of a multichannel image.

Every call is turned into one computation: the part ``[start, start + size)``
(per dimension) of the *full* cross-correlation of ``in1``, extended beyond
its edges by the boundary rule, with the kernel ``in2``. The extension is
described by one index map per dimension (input index, or -1 for the fill
value), which the direct kernel reads without padding ``in1`` in memory.

Algorithms
----------
``direct``
    The single-channel filter kernel (``fastconv._kernels._filter``): SIMD
    across output columns, several output rows per register block, OpenMP
    over blocks of rows and columns. 1-D signals are one-row images; 3-D
    arrays run on :func:`fastconv.conv3d` after the boundary is applied.
    A rank-1 2-D kernel (Gaussian, box, the smoothing part of Sobel) is
    run as two 1-D passes when that is cheaper (:func:`_rank1`, with the
    factors of :func:`fastconv.separate`).
``fft``
    The convolution theorem with real FFTs, or complex ones for complex
    arrays (``scipy.fft`` when SciPy is
    installed, else ``numpy.fft``, see :func:`fft_backend`); along an axis
    much longer than the kernel the output is cut into blocks (overlap-save,
    :func:`fft_blocks`) so that each FFT stays short. The blocks are defined
    from the first output on, by the kernel alone: a region made of whole
    blocks has the same bits computed alone as in the whole result (what
    ``fastconv.dask`` relies on).
``auto``
    The cheapest of these by the cost model :func:`choose_correlate_algorithm` (constants
    measured on the development machine, see ``_COST``).
"""
import functools
import itertools
import math
import numbers
from typing import NamedTuple, Optional

import numpy as np

from fastconv import _complex
from fastconv._args import (as_array, check_out, check_winograd, compute_dtype, direct_out,
                            input_array, prepare_conv)
from fastconv._dispatch import isa_level, note_choice, run_conv
from fastconv._kernels import _filter
from fastconv._kernels._openmp import MIN_PARALLEL_WORK
from fastconv._threads import get_num_threads
from fastconv._variants import separate
from fastconv.functional import conv2d

__all__ = ["correlate", "convolve"]

MODES = ("full", "same", "valid")
#: Every value of ``algorithm=`` that correlate/convolve accept.
ALGORITHMS = ("auto", "direct", "fft", "winograd")
BOUNDARIES = ("fill", "reflect", "symmetric", "mirror", "nearest", "wrap")

#: Cost model of ``algorithm="auto"``, in nanoseconds, measured on the
#: development machine (2-core AMD EPYC, AVX2 + FMA, 1 thread, float32; float64
#: doubles the per-element constants):
#:
#: * ``direct``: ``DIRECT_PER_MAC * outputs * taps + DIRECT_PER_OUTPUT * outputs``
#:   (1024 x 1024 image: 0.55 ms with 3 x 3 taps, 1.2 ms with 5 x 5);
#: * ``separable`` (rank-1 2-D kernels): two direct passes of ``kh`` and
#:   ``kw`` taps;
#: * ``fft``: ``FFT_PER_POINT * L * log2(L)`` for the transform length ``L``
#:   (three transforms and a product), plus ``FFT_PER_OUTPUT`` per output;
#:   the overlap-save blocks of a long 1-D signal (small transforms that stay
#:   in cache) cost ``FFT_BLOCK_PER_POINT`` instead (10^6 samples, 501 taps:
#:   14.6 ms, against 18.6 ms direct); the blocks of a 2-D or 3-D array cost
#:   ``FFT_PER_POINT`` for all their points.
#:
#: Complex arrays: ``direct`` and ``separable`` are composed of real
#: correlations (:func:`real_products`: 2 or 4 of them) and cost that many
#: times the real ones; ``fft`` transforms two complex arrays themselves (one
#: side real: two real FFT correlations) and costs ``FFT_COMPLEX`` times the
#: real FFT of the same shapes (a complex transform has twice a real one's
#: points; measured 1.4-2.5 times, median 2.0, complex64 and complex128 on
#: 2e5 and 1e6 samples with 101 and 1001 taps and 248 x 504 to 1024 x 1024
#: images with 9 x 9 to 31 x 31 kernels, 'same').
_COST = dict(DIRECT_PER_MAC=0.055, DIRECT_PER_OUTPUT=0.2, FFT_PER_POINT=0.9,
             FFT_BLOCK_PER_POINT=0.35, FFT_PER_OUTPUT=1.0, FFT_COMPLEX=2.0)
#: The FFT's blocks (overlap-save) are transforms of about ``_BLOCK_FACTOR``
#: times the kernel's taps along each axis (see :func:`fft_threshold`).
_BLOCK_FACTOR = 8


@functools.lru_cache(maxsize=None)
def fft_backend():
    """The FFT module and whether float32 data is transformed in float64.

    ``scipy.fft`` when SciPy is installed: on the development machine its
    float32 real FFT took 2.7 ms for 279 transforms of 4096 points, NumPy's
    11.7 ms (4.8 ms in float64). Without SciPy, ``numpy.fft`` in float64,
    which is faster there. SciPy is optional: the results agree to within
    the FFT's rounding either way.
    """
    try:
        import scipy.fft as fft
    except ImportError:
        return np.fft, True
    return fft, False


@functools.lru_cache(maxsize=256)
def next_fast_len(n, complex_data=False):
    """The smallest 2^a 3^b 5^c 7^d >= n (lengths numpy.fft transforms fast).

    ``complex_data``: the length of a complex-to-complex transform, which
    ``scipy.fft`` (when it is the backend, :func:`fft_backend`) also
    transforms fast with factors of 11, fastest with many factors of 2: of
    the 2^a 3^b 5^c 7^d 11^e lengths up to 10% above ``n``, the one of least
    ``length * (1 + 0.4 / 2^a)``. Measured on the development machine
    (shared and loaded; 2-D complex64 transforms, time per point): 30-32 ns for a >= 5, 34-36
    for a = 3, 36-48 for a <= 2; so 2240 for 2172 (2^6 5 7: 168 ms, against
    225 ms for ``scipy.fft.next_fast_len``'s 2178 = 2 3^2 11^2), 1120 for
    1084, 1056 for 1054, 528 for 526.
    """
    if complex_data and fft_backend()[0] is not np.fft:
        smallest = int(fft_backend()[0].next_fast_len(int(n), real=False))
        return _fast_complex_len(int(n), smallest)
    best = 1 << max(int(n - 1).bit_length(), 0)
    p7 = 1
    while p7 < best:
        p5 = p7
        while p5 < best:
            p3 = p5
            while p3 < best:
                p2 = p3
                while p2 < n:
                    p2 *= 2
                best = min(best, p2)
                p3 *= 3
            p5 *= 5
        p7 *= 7
    return max(best, 1)


def _fast_complex_len(n, smallest):
    """:func:`next_fast_len` of complex data: ``smallest`` is the least
    2357-11-smooth length >= ``n``."""
    def cost(length):
        twos = (length & -length).bit_length() - 1
        return length * (1 + 0.4 / 2 ** twos)

    best = smallest
    for length in range(smallest + 1, max(smallest, n + n // 10) + 1):
        rest = length
        for p in (2, 3, 5, 7, 11):
            while rest % p == 0:
                rest //= p
        if rest == 1 and cost(length) < cost(best):
            best = length
    return best


def extend_index(idx, n, boundary):
    """Input index read by position ``idx`` of the extended ``in1``, or -1 (fill)."""
    if boundary == "fill":
        return np.where((idx >= 0) & (idx < n), idx, -1)
    if boundary in ("reflect", "symmetric"):
        m = np.mod(idx, 2 * n)
        return np.where(m < n, m, 2 * n - 1 - m)
    if boundary == "mirror":
        if n == 1:
            return np.zeros_like(idx)
        m = np.mod(idx, 2 * n - 2)
        return np.where(m < n, m, 2 * n - 2 - m)
    if boundary == "nearest":
        return np.clip(idx, 0, n - 1)
    return np.mod(idx, n)                  # wrap


def _rank1(w):
    """``(u, v)`` with ``w == outer(u, v)`` to rounding for a rank-1 2-D kernel, else None.

    The factors come from :func:`fastconv.separate` with a tolerance of a few
    rounding errors (``16 * eps * max(w.shape)`` on the second singular
    value), and are kept only if their outer product reproduces ``w`` to
    ``64 * eps * max|w|``, so the two 1-D passes stay within the direct
    sum's accuracy.
    """
    if w.ndim != 2 or min(w.shape) < 2 or not np.all(np.isfinite(w)):
        return None
    eps = float(np.finfo(w.dtype).eps)
    try:
        u, v = separate(w, rtol=16 * eps * max(w.shape))
    except ValueError:
        return None
    w64 = w.astype(np.float64)
    if np.max(np.abs(np.outer(u.astype(np.float64), v) - w64)) > 64 * eps * np.max(np.abs(w64)):
        return None
    return u.astype(w.dtype), v.astype(w.dtype)


#: Kernels of at most this many taps keep their :func:`_rank1` result, keyed
#: by their bytes (a repeated call with the same kernel skips the SVD). The
#: check costs about 0.5 ms on an 11x11 kernel, 6% of a 1024x1024 image's
#: direct correlation on one thread; hashing its bytes, about a microsecond.
RANK1_CACHE_MAX_TAPS = 1024
_rank1_results = {}


def _small_rank1(w):
    """:func:`_rank1` of a small kernel, remembered by its exact values."""
    key = (w.dtype.str, w.shape, w.tobytes())
    if key in _rank1_results:
        return _rank1_results[key]
    uv = _rank1(w)
    if uv is not None:
        for f in uv:
            f.setflags(write=False)
    if len(_rank1_results) >= 256:
        _rank1_results.clear()
    _rank1_results[key] = uv
    return uv


def _index_map(start, size, k, n, boundary):
    """Input index of each of the ``size + k - 1`` extended positions the output
    ``[start, start + size)`` reads (-1: the fill value). Only the positions
    outside the input go through the boundary rule."""
    first = start - (k - 1)
    m = np.arange(first, first + size + k - 1, dtype=np.int64)
    lo, hi = min(max(-first, 0), m.size), min(max(n - first, 0), m.size)
    m[:lo] = extend_index(m[:lo], n, boundary)
    m[max(hi, lo):] = extend_index(m[max(hi, lo):], n, boundary)
    return m, lo, max(hi, lo)


def _extended(x, maps, fill, shape=None, dtype=None):
    """``in1`` extended by the index maps, as an array (for the FFT and 3-D paths).

    One dimension at a time: the interior is one slice copy, the edges are
    gathered through the map (or filled). With ``shape`` (at least the
    extension's, per dim) and ``dtype``: an array of that shape and dtype
    holding the extension at its start and zeros after it; an extension by
    the fill value alone is then written straight into it.
    """
    if shape is not None:
        ext_shape = tuple(m.size for m, _, _ in maps)
        region = tuple(slice(0, e) for e in ext_shape)
        dst = np.zeros(shape, dtype)
        if not all(np.all(m[:lo] < 0) and np.all(m[hi:] < 0) for m, lo, hi in maps):
            dst[region] = _extended(x, maps, fill)
            return dst
        if fill != 0:
            dst[region] = fill
        if all(hi > lo for _, lo, hi in maps):
            dst[tuple(slice(lo, hi) for _, lo, hi in maps)] = x[
                tuple(slice(int(m[lo]), int(m[lo]) + hi - lo) for m, lo, hi in maps)]
        return dst
    ext = x
    for dim, (m, lo, hi) in enumerate(maps):
        shape = list(ext.shape)
        shape[dim] = m.size
        new = np.empty(shape, x.dtype)
        sl = [slice(None)] * x.ndim

        def put(a, b, values):
            sl[dim] = slice(a, b)
            new[tuple(sl)] = values

        def gather(a, b):
            idx = m[a:b]
            part = np.take(ext, np.where(idx < 0, 0, idx), axis=dim)
            if np.any(idx < 0):
                sel = [slice(None)] * x.ndim
                sel[dim] = idx < 0
                part[tuple(sel)] = fill
            return part

        if lo:
            put(0, lo, gather(0, lo))
        if hi > lo:
            sl2 = [slice(None)] * x.ndim
            sl2[dim] = slice(int(m[lo]), int(m[lo]) + hi - lo)
            put(lo, hi, ext[tuple(sl2)])
        if hi < m.size:
            put(hi, m.size, gather(hi, m.size))
        ext = new
    return ext


def _direct(x, w, maps, fill, out, padl, isa=None, threads=None, rows=None):
    """The direct algorithm into ``out`` (C-contiguous, of the output's shape).

    ``padl``: extended column ``c`` is input column ``c - padl`` inside the input.
    ``isa``, ``threads``: the SIMD level and thread count to run at (default:
    the level and count in use; the 3-D case takes the count in use).
    ``rows``: the filter kernel's row map, if known (:func:`_filter_rows`).
    """
    threads = get_num_threads() if threads is None else threads
    isa = isa_level() if isa is None else isa
    if x.ndim == 3:
        ext = np.ascontiguousarray(_extended(x, maps, fill))
        problem, xb, wb, _, _ = prepare_conv(3, ext[None, None], w[None, None], None, 1, 0, 1,
                                             1, "zeros", "direct", None)
        run_conv(problem, xb, wb, None, out[None, None], algorithm="direct", isa=isa)
        return out
    if x.ndim == 1:                      # a one-row image
        x, w, o2 = x[None], w[None], out[None]
    else:
        o2 = out
    rmap = _filter_rows(maps) if rows is None else rows
    _filter.filter2d(x, w, o2, rmap, maps[-1][0], padl, fill, threads, isa)
    return out


def _filter_rows(maps):
    """The filter kernel's row map: a 2-D problem's, or the one row of a 1-D signal."""
    return maps[0][0] if len(maps) == 2 else np.zeros(1, np.int64)


def _separable(x, uv, maps, sizes, fill, out, padl, isa=None, threads=None):
    """A rank-1 2-D kernel ``outer(u, v)`` as two 1-D passes (rows first)."""
    u, v = uv
    threads = get_num_threads() if threads is None else threads
    isa = isa_level() if isa is None else isa
    rmap, cmap = maps[0][0], maps[1][0]
    tmp = np.empty((rmap.size, sizes[1]), x.dtype)
    _filter.filter2d(x, np.ascontiguousarray(v[None, :]), tmp, rmap, cmap, padl, fill,
                     threads, isa)
    _filter.filter2d(tmp, np.ascontiguousarray(u[:, None]), out,
                     np.arange(rmap.size, dtype=np.int64),
                     np.arange(sizes[1], dtype=np.int64), 0, 0.0, threads, isa)
    return out


def fft_threshold(k, nd):
    """``(transform length, longest extended axis transformed whole)`` of the
    FFT's blocks along an axis of a ``k``-tap kernel in an ``nd``-D problem.

    The block transform has the power-of-two length >= ``_BLOCK_FACTOR * k``.
    A 1-D signal is cut into blocks beyond ``2 * _BLOCK_FACTOR * k`` samples
    (10^6 samples, 501 taps: 14.6 ms against 18.6 ms direct); an axis of a 2-D
    or 3-D array beyond ``_BLOCK_FACTOR`` blocks, where blocks were measured
    no slower than the whole transform (0.53x on a 4096 x 4096 image with a
    31 x 31 kernel, 0.83x on 8192 x 256 with 9 x 9, 0.88x on 160 x 600 x 600
    with 5 x 5 x 5; 1.2-3.2x slower with 2 to 4 blocks per axis).
    """
    n = 1 << (_BLOCK_FACTOR * k - 1).bit_length()
    return n, (_BLOCK_FACTOR * 2 * k if nd == 1 else _BLOCK_FACTOR * n)


def fft_blocks(ext_shape, kernel, complex_data=False):
    """The FFT's blocks, per axis: ``(segment, transform length, outputs per block)``.

    An axis whose extended input is longer than :func:`fft_threshold`'s
    limit is cut into overlap-save blocks whose transform length depends on
    the kernel alone; a shorter one is one block, transformed whole. The
    blocks start at the first output, so an output's bits do not depend on
    how far the array reaches beyond its block: a region of whole blocks,
    computed from its own extended input, is computed exactly as in the
    whole array. ``complex_data``: the lengths of complex transforms
    (:func:`next_fast_len`).
    """
    plan = []
    for e, k in zip(ext_shape, kernel):
        n, limit = fft_threshold(k, len(kernel))
        if e > limit:
            plan.append((n, n, n - k + 1))
        else:
            plan.append((e, next_fast_len(e, complex_data), e - k + 1))
    return plan


#: Transform points of the blocks multiplied at once (their spectra's memory).
_FFT_BATCH_POINTS = 1 << 22


def _fft(x, w, maps, sizes, fill, out):
    """The FFT algorithm: valid correlation of the extended input with ``w``.

    Overlap-save in blocks (see :func:`fft_blocks`): each block's segment of
    the extended input is transformed, multiplied by the kernel's spectrum
    and transformed back; its valid part is the block's outputs. The blocks'
    segments are a strided view of the input (no gathered copy), transformed
    a batch at a time. Real arrays take real transforms (``rfftn``/``irfftn``),
    complex ones (``x`` and ``w`` of one complex dtype) complex-to-complex
    transforms (``fftn``/``ifftn``): one forward transform per operand, one
    product, one inverse, whatever the parts.
    """
    wf = w[(slice(None, None, -1),) * w.ndim]          # correlation = convolution with w flipped
    fft, upcast = fft_backend()
    upcast = upcast and x.dtype in (np.float32, np.complex64)
    if x.dtype.kind == "c":
        forward = fft.fftn
        dtype = np.complex128 if upcast else x.dtype
    else:
        forward = fft.rfftn
        dtype = np.float64 if upcast else x.dtype
    # The spectra are this function's own: scipy.fft may transform them in place.
    in_place = {} if fft is np.fft else {"overwrite_x": True}
    nd = x.ndim
    ext_shape = tuple(m.size for m, _, _ in maps)
    seg, n_fft, block = zip(*fft_blocks(ext_shape, w.shape, x.dtype.kind == "c"))
    nblocks = [-(-size // b) for size, b in zip(sizes, block)]
    need = tuple(nb * b + k - 1 for nb, b, k in zip(nblocks, block, w.shape))
    # The extended input, followed by zeros: past the last blocks' segments,
    # and up to the transform length along an axis transformed whole (so
    # that the transforms read it as it is, without a padded copy).
    padded = _extended(x, maps, fill, tuple(e + n - s for e, n, s in zip(need, n_fft, seg)),
                       dtype)
    segments = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[
        tuple(slice(None, None, b) for b in block)]
    axes = tuple(range(nd, 2 * nd))
    spec_w = _kernel_spectrum(fft, wf.astype(dtype, copy=False), n_fft)
    keep = tuple(slice(k - 1, k - 1 + b) for k, b in zip(w.shape, block))
    # Batches of whole rows of blocks along the first axis.
    per_row = math.prod(nblocks[1:]) * math.prod(n_fft)
    rows = max(1, _FFT_BATCH_POINTS // max(per_row, 1))
    for r0 in range(0, nblocks[0], rows):
        r1 = min(nblocks[0], r0 + rows)
        spec = forward(segments[r0:r1], n_fft, axes=axes)
        spec *= spec_w
        res = _kept_inverse(fft, spec, n_fft, keep, x.dtype.kind != "c", in_place)
        _put_blocks(out[r0 * block[0]:min(sizes[0], r1 * block[0])], res, block)
    return out


def _kernel_spectrum(fft, w, n_fft):
    """The spectrum of ``w`` zero-padded to ``n_fft`` (``rfftn``'s for a real
    ``w``, ``fftn``'s for a complex one), one axis at a time: each pass
    transforms only the lines the previous ones made non-zero, so a small
    kernel's spectrum costs about one pass over the transform, not ``nd``."""
    if w.dtype.kind == "c":
        spec = w
    else:
        spec = fft.rfft(w, n_fft[-1], axis=w.ndim - 1)
    for axis in range(w.ndim - (w.dtype.kind != "c")):
        spec = fft.fft(spec, n_fft[axis], axis=axis)
    return spec


def _kept_inverse(fft, spec, n_fft, keep, real, in_place):
    """The inverse transform of ``spec`` (blocks along the leading axes, then
    the transform axes), cut to ``keep`` along each transform axis: one axis
    at a time, each pass cut to its kept outputs before the next, which then
    transforms fewer lines. Complex spectra take ``ifft`` along every axis,
    the half spectra of ``real`` data ``irfft`` along the last."""
    nd = len(n_fft)
    first = spec.ndim - nd
    for i in range(nd):
        axis = first + i
        if i == nd - 1 and real:
            spec = fft.irfft(spec, n_fft[i], axis=axis)
        else:
            spec = fft.ifft(spec, n_fft[i], axis=axis, **(in_place if i == 0 else {}))
        spec = spec[(slice(None),) * axis + (keep[i],)]
    return spec


def _put_blocks(out, res, block):
    """Write blocks ``res`` (blocks along each axis, then each block's
    outputs) into ``out``, cropped to its shape: whole blocks with one
    strided copy, then the partial last block of each axis."""
    nd = out.ndim
    if all(s <= b for s, b in zip(out.shape, block)):      # one block
        out[...] = res[(0,) * nd + tuple(slice(0, s) for s in out.shape)]
        return
    full = [s // b for s, b in zip(out.shape, block)]
    order = [a for d in range(nd) for a in (d, nd + d)]
    # Per axis: the whole blocks, and the partial last one if there is one.
    parts = [[(slice(0, f), f * b, b)] + ([(slice(f, f + 1), s - f * b, s - f * b)]
                                          if s > f * b else [])
             for s, f, b in zip(out.shape, full, block)]
    for combo in itertools.product(*parts):
        counts = [p[0].stop - p[0].start for p in combo]
        if 0 in counts:
            continue
        dst = out[tuple(slice(p[0].start * b, p[0].start * b + p[1])
                        for p, b in zip(combo, block))]
        src = res[tuple(p[0] for p in combo) + tuple(slice(0, p[2]) for p in combo)]
        dst.reshape([v for c, p in zip(counts, combo) for v in (c, p[2])])[...] = \
            src.transpose(order)


def _winograd(x, w, maps, fill, out):
    """The engine's Winograd convolution on the extended 2-D input."""
    if x.ndim != 2:
        raise ValueError(f"algorithm='winograd' applies to 2-D arrays, got {x.ndim}-D; "
                         f"use one of 'auto', 'direct', 'fft'")
    check_winograd(w.shape, (1, 1), algorithms=("auto", "direct", "fft"))
    ext = np.ascontiguousarray(_extended(x, maps, fill))
    out[...] = conv2d(ext[None, None], w[None, None], algorithm="winograd")[0, 0]
    return out


def real_products(x, w):
    """How many real correlations a correlation of ``x`` and ``w`` is composed
    of off the FFT path: 1 for real arrays, 2 with one complex side, SciPy's
    convention's :data:`fastconv._complex.PRODUCTS` with two."""
    xc, wc = x.dtype.kind == "c", w.dtype.kind == "c"
    return _complex.PRODUCTS["scipy"] if xc and wc else 2 if xc or wc else 1


def algorithm_costs(x, w, sizes):
    """Estimated nanoseconds of each algorithm (see ``_COST``); ``separable`` is
    priced for any 2-D kernel, as if it had rank 1. Complex arrays: the direct
    and separable costs are those of their :func:`real_products`, the FFT's
    ``FFT_COMPLEX`` times the real one."""
    c = _COST
    dtypes = {_complex.REAL_OF.get(a.dtype, a.dtype) for a in (x, w)}
    per = 2.0 if np.float64 in dtypes else 1.0
    outputs = math.prod(sizes)
    costs = {"direct": per * outputs * (c["DIRECT_PER_MAC"] * w.size + c["DIRECT_PER_OUTPUT"])}
    if x.ndim == 2 and min(w.shape) > 1:
        rows = sizes[0] + w.shape[0] - 1
        costs["separable"] = per * (rows * sizes[1] * (c["DIRECT_PER_MAC"] * w.shape[1]
                                                       + c["DIRECT_PER_OUTPUT"])
                                    + outputs * (c["DIRECT_PER_MAC"] * w.shape[0]
                                                 + c["DIRECT_PER_OUTPUT"]))
    plan = fft_blocks([s + k - 1 for s, k in zip(sizes, w.shape)], w.shape,
                      x.dtype.kind == "c" or w.dtype.kind == "c")
    points = math.prod(n for _, n, _ in plan)
    length = points * math.prod(-(-s // b) for s, (_, _, b) in zip(sizes, plan))
    log = math.log2(max(points, 2))
    blocked = any(b < s for s, (_, _, b) in zip(sizes, plan))
    # 2-D and 3-D blocks are priced per point as the whole transform (they
    # took 0.57-0.89 of its time per point on 2048 x 2048 and 4096 x 4096
    # images with a 31 x 31 kernel, the small 1-D blocks 0.4).
    per_point = c["FFT_BLOCK_PER_POINT"] if blocked and x.ndim == 1 else c["FFT_PER_POINT"]
    costs["fft"] = per_point * length * log * 3 + c["FFT_PER_OUTPUT"] * outputs
    products = real_products(x, w)
    if products > 1:
        for name in costs:
            costs[name] *= c["FFT_COMPLEX"] if name == "fft" else products
    return costs


def choose_correlate_algorithm(x, w, sizes, costs=None):
    """The algorithm ``auto`` runs, and the rank-1 factors when it is
    ``separable`` (``costs``: those of :func:`algorithm_costs`, if known)."""
    costs = dict(algorithm_costs(x, w, sizes) if costs is None else costs)
    best = min(costs, key=costs.get)
    if best == "separable":
        # Only now is the kernel factorised (an SVD): it could be worth it.
        uv = _small_rank1(w) if w.size <= RANK1_CACHE_MAX_TAPS else _rank1(w)
        if uv is not None:
            return best, uv
        del costs["separable"]
        best = min(costs, key=costs.get)
    return best, None


def region(n1, n2, mode):
    full = n1 + n2 - 1
    size = {"full": full, "same": n1, "valid": abs(n1 - n2) + 1}[mode]
    return (full - size) // 2, size


def correlate_channel(x, w, mode, boundary, fill, algorithm, out):
    """One channel: the kept part of the full correlation of x (extended) with w."""
    starts, sizes = zip(*(region(n1, n2, mode) for n1, n2 in zip(x.shape, w.shape)))
    return correlate_region(x, w, starts, sizes, boundary, fill, algorithm, out)


#: What a region's correlation needs that depends only on the shapes, the
#: dtype, the region and the boundary (:func:`_region_setup`), for repeated
#: calls of the same shapes (bounded; cleared when full).
SETUP_CACHE_SIZE = 256
_setups = {}


class RegionSetup(NamedTuple):
    """What :func:`correlate_region` computes once per shapes, dtype, region
    and boundary."""

    #: The arrays swap roles (zero fill, a kernel at least as large as the input).
    flip: bool
    #: The read-only index maps ``(map, lo, hi)`` of :func:`_index_map`, per dim.
    maps: list
    #: The kernel's left padding (see :func:`_direct`).
    padl: int
    #: The cost model's estimates (:func:`algorithm_costs`).
    costs: dict
    #: ``auto``'s algorithm when it does not depend on the kernel's values
    #: (anything but ``separable``, whose factors do); else None.
    choice: Optional[str]
    #: The direct filter kernel's read-only row map (1-D and 2-D), or None.
    rows: Optional[np.ndarray]
    #: The direct filter kernel runs on one thread (too little work to share,
    #: see :data:`fastconv._kernels._openmp.MIN_PARALLEL_WORK`).
    one_thread: bool


def _region_setup(x, w, starts, sizes, boundary, fill):
    """The :class:`RegionSetup` of one region."""
    flip = False
    if (boundary == "fill" and fill == 0 and all(k >= n for k, n in zip(w.shape, x.shape))
            and w.shape != x.shape):
        # Zero fill: correlate(x, w)[k] == correlate(w, x)[N1 + N2 - 2 - k]; the larger
        # array becomes the input and the smaller one the kernel (fewer taps).
        starts = tuple(n1 + n2 - 1 - s - size
                       for n1, n2, s, size in zip(x.shape, w.shape, starts, sizes))
        x, w, flip = w, x, True
    maps = [_index_map(s, size, k, n, boundary)
            for s, size, k, n in zip(starts, sizes, w.shape, x.shape)]
    for m, _, _ in maps:
        m.setflags(write=False)         # shared by the calls of these shapes
    padl = w.shape[-1] - 1 - starts[-1]
    costs = algorithm_costs(x, w, sizes)
    choice = min(costs, key=costs.get)
    rows = None
    if x.ndim <= 2:
        rows = _filter_rows(maps)
        rows.setflags(write=False)
    return RegionSetup(flip, maps, padl, costs, None if choice == "separable" else choice,
                       rows, math.prod(sizes) * w.size < MIN_PARALLEL_WORK)


def correlate_region(x, w, starts, sizes, boundary, fill, algorithm, out=None, isa=None,
                     threads=None):
    """Positions ``[start, start + size)`` (per dim) of the full correlation of
    ``x`` (extended by ``boundary``) with ``w``, into ``out`` or a new array.

    ``x`` and ``w`` are C-contiguous arrays of one float dtype and of the same
    ndim (1-D to 3-D; any ndim for ``algorithm="fft"``), or complex arrays
    (one or both of the complex dtype of that float dtype; ``fill`` may be
    complex): the FFT transforms them as they are, the other algorithms
    compose real correlations of their parts (:func:`_complex_region`); ``w``
    is not conjugated. ``algorithm`` is one of
    :data:`ALGORITHMS`; ``isa`` and ``threads`` the SIMD level and thread
    count of the 1-D and 2-D direct kernels (default: those in use). The entry
    point of :mod:`fastconv.signal` and :mod:`fastconv.ndimage`, which place
    the region themselves.
    """
    nd = x.ndim
    if not (x.flags.aligned and w.flags.aligned):
        # The kernels read whole elements; an array unpickled from a buffer
        # (a Dask worker's block or kernel) may start anywhere.
        x, w = np.require(x, requirements="CA"), np.require(w, requirements="CA")
    starts, sizes = tuple(starts), tuple(sizes)
    if x.dtype.kind == "c" or w.dtype.kind == "c" or isinstance(fill, complex):
        composed = _complex_region(x, w, starts, sizes, boundary, fill, algorithm, isa,
                                   threads)
        if composed is not None:
            if out is None:
                return composed
            out[...] = composed
            return out
        # The FFT of two complex arrays, transformed as they are (below); a
        # complex fill has made a real x complex.
        cdt = w.dtype
        x, algorithm = x.astype(cdt, copy=False), "fft"
    key = (x.shape, w.shape, x.dtype, starts, sizes, boundary, fill == 0)
    setup = _setups.get(key)
    if setup is None:
        setup = _region_setup(x, w, starts, sizes, boundary, fill)
        if len(_setups) >= SETUP_CACHE_SIZE:
            _setups.clear()
        _setups[key] = setup
    flip, maps, padl = setup.flip, setup.maps, setup.padl
    if flip:
        x, w = w, x
    uv = None
    if algorithm == "auto":
        if setup.choice is not None:
            algorithm = setup.choice
        else:
            algorithm, uv = choose_correlate_algorithm(x, w, sizes, setup.costs)
    elif algorithm == "separable":      # chosen by choose_correlate_algorithm for a larger problem
        uv = _rank1(w)
    target = out
    if flip or target is None or not direct_out(target):
        target = np.empty(sizes, x.dtype)
    note_choice(algorithm)
    if algorithm == "direct":
        if threads is None and setup.one_thread:
            threads = 1
        _direct(x, w, maps, fill, target, padl, isa, threads, setup.rows)
    elif algorithm == "separable":
        _separable(x, uv, maps, sizes, fill, target, padl, isa, threads)
    elif algorithm == "fft":
        _fft(x, w, maps, sizes, fill, target)
    else:
        _winograd(x, w, maps, fill, target)
    if flip:
        target = target[(slice(None, None, -1),) * nd]
    if out is not None and target is not out:
        out[...] = target
        return out
    return target


def _complex_region(x, w, starts, sizes, boundary, fill, algorithm, isa, threads):
    """:func:`correlate_region` of complex arrays (or a complex ``fill``) off
    the complex FFT: composed of real correlations of the parts
    (:func:`fastconv._complex.bilinear`, SciPy's convention's form), run
    with the same algorithm (``auto``: the one it picks by the complex costs
    of :func:`algorithm_costs`). Returns None when both arrays are complex and
    the FFT computes it (asked for, or ``auto``'s choice): on the complex
    arrays themselves. With one side real the FFT is two real FFT
    correlations, which cost about as much as one complex one and keep the
    real transforms' accuracy (SciPy's own tests of complex64 by an integer
    array pass with them, not with a complex64 transform)."""
    if w.dtype.kind == "c" and x.dtype.kind != "c" and np.imag(fill) != 0:
        x = x.astype(w.dtype)       # the fill's imaginary part extends x's imaginary part
    both = x.dtype.kind == "c" and w.dtype.kind == "c"
    if algorithm == "auto" and (x.dtype.kind == "c" or w.dtype.kind == "c"):
        costs = algorithm_costs(x, w, sizes)
        best = min(costs, key=costs.get)
        if best == "separable" and any(
                (_small_rank1(p) if p.size <= RANK1_CACHE_MAX_TAPS else _rank1(p)) is None
                for p in _complex.parts(w) if p is not None):
            del costs["separable"]     # the parts are filtered with "auto": as if direct
            best = min(costs, key=costs.get)
        if best == "fft":
            algorithm = "fft"
    if algorithm == "fft" and both:
        return None

    def real(xr, wr, fr):
        return correlate_region(xr, wr, starts, sizes, boundary, fr, algorithm, None, isa,
                                threads)
    return _complex.bilinear(real, x, w, fill=fill)


def _correlate(in1, in2, mode, boundary, fillvalue, algorithm, out, convolve):
    if _complex.is_complex(in1, in2):
        return _correlate_complex(in1, in2, mode, boundary, fillvalue, algorithm, out,
                                  convolve)
    a_in, b_in = in1, in2
    a = input_array(in1, "in1")
    b = input_array(in2, "in2")
    # The checks of shapes, dtypes and the str parameters, cached for
    # repeated calls (a parameter of another type is checked every time).
    key = None
    if type(mode) is str and type(boundary) is str and type(algorithm) is str:
        key = (a.shape, b.shape, a.dtype, b.dtype, mode, boundary, algorithm, convolve)
    checked = None if key is None else _checked.get(key)
    if checked is None:
        # The dtypes' checks (an ndarray passed as it is was not checked).
        a, b = as_array(a, "in1"), as_array(b, "in2")
        checked = _check_call(a, b, mode, boundary, algorithm, convolve)
        if key is not None:
            if len(_checked) >= SETUP_CACHE_SIZE:
                _checked.clear()
            _checked[key] = checked
    if type(fillvalue) is not float and type(fillvalue) is not int:
        _check_fillvalue(fillvalue)
    dtype, shape, mode, nd, channels, starts, sizes = checked
    if mode == "valid":
        boundary, fillvalue = "fill", 0.0
    if out is not None:
        check_out(out, shape, dtype, [("in1", a_in), ("in2", b_in)])
    if convolve:
        b = b[(slice(None, None, -1),) * nd]
    w = np.ascontiguousarray(b, dtype=dtype)
    return _channels(a, dtype, w, starts, sizes, boundary, float(fillvalue), algorithm, out,
                     shape, dtype)


def _channels(a, x_dtype, w, starts, sizes, boundary, fill, algorithm, out, shape, dtype):
    """:func:`correlate_region` of ``a`` (as ``x_dtype``) with ``w``, or of each
    channel of ``a`` when its ``shape`` has a trailing channel axis (the
    result, of ``dtype``, into ``out`` if given)."""
    if len(shape) == w.ndim:
        x = np.ascontiguousarray(a, dtype=x_dtype)
        return correlate_region(x, w, starts, sizes, boundary, fill, algorithm, out)
    result = out if out is not None else np.empty(shape, dtype)
    for c in range(shape[-1]):
        x = np.ascontiguousarray(a[..., c], dtype=x_dtype)
        result[..., c] = correlate_region(x, w, starts, sizes, boundary, fill, algorithm, None)
    return result


def _correlate_complex(in1, in2, mode, boundary, fillvalue, algorithm, out, convolve):
    """:func:`_correlate` with a complex ``in1`` or ``in2``, SciPy's semantics:
    correlate conjugates ``in2``, convolve does not; a complex ``fillvalue``
    extends the real and imaginary parts of ``in1``. The complex arrays go to
    :func:`correlate_region` as they are (its FFT transforms them, the other
    algorithms are composed of real correlations)."""
    if not isinstance(fillvalue, (numbers.Number, np.bool_)):
        raise TypeError(f"fillvalue must be a number, got {fillvalue!r}")
    a, b = _complex.as_any_array(in1, "in1"), _complex.as_any_array(in2, "in2")
    dtype = _complex.result_dtype(a, b)
    rdt = _complex.REAL_OF[dtype]
    # The checks of the real path, on the real parts (views).
    _, shape, mode, nd, _, starts, sizes = _check_call(a.real, b.real, mode, boundary,
                                                       algorithm, convolve)
    fill = complex(fillvalue) if boundary == "fill" and mode != "valid" else 0.0
    if mode == "valid":
        boundary = "fill"
    if fill.imag == 0:
        fill = fill.real
    if out is not None:
        check_out(out, shape, dtype, [("in1", in1), ("in2", in2)])
    if convolve:
        b = b[(slice(None, None, -1),) * nd]
    elif b.dtype.kind == "c":
        b = np.conj(b)
    w = np.ascontiguousarray(b, dtype=dtype if b.dtype.kind == "c" else rdt)
    x_dtype = dtype if a.dtype.kind == "c" or isinstance(fill, complex) else rdt
    return _channels(a, x_dtype, w, starts, sizes, boundary, fill, algorithm, out, shape,
                     dtype)


_checked = {}


def _check_fillvalue(fillvalue):
    if (not isinstance(fillvalue, (numbers.Real, np.bool_))
            or isinstance(fillvalue, (np.complexfloating, complex))):
        raise TypeError(f"fillvalue must be a real number when in1 and in2 are real, got "
                        f"{fillvalue!r} (a complex fillvalue needs a complex in1 or in2)")


def check_correlate(a, b, mode, boundary, fillvalue, algorithm, name):
    """Validate a correlate/convolve call from its arrays' shapes and dtypes.

    Returns ``(boundary, fillvalue, dtype, sizes, channels)``: 'valid'
    ignores the boundary, ``sizes`` are the result's spatial sizes and
    ``channels`` its trailing channel axis (an empty tuple or one size).
    """
    dtype, shape, mode, nd, channels, _, _ = _check_call(a, b, mode, boundary, algorithm,
                                                         name == "convolve")
    _check_fillvalue(fillvalue)
    if mode == "valid":
        boundary, fillvalue = "fill", 0.0
    return boundary, fillvalue, dtype, shape[:len(shape) - len(channels)], channels


def _check_call(a, b, mode, boundary, algorithm, convolve):
    """Validate what a call depends on apart from values (cached by shapes,
    dtypes and parameters): ``(dtype, shape, mode, nd, channels, starts,
    sizes)``, the last two the region of the full result kept (per dim)."""
    name = "convolve" if convolve else "correlate"
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not one of {', '.join(MODES)}")
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary={boundary!r} is not one of {', '.join(BOUNDARIES)}")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm={algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    if b.ndim not in (1, 2, 3):
        raise ValueError(f"{name} filters 1-D, 2-D and 3-D arrays: in2 must have 1 to 3 "
                         f"dims, got in2 of shape {b.shape}")
    if a.ndim not in (b.ndim, b.ndim + 1):
        raise ValueError(f"in1 must have in2.ndim = {b.ndim} dims, or {b.ndim + 1} with a "
                         f"trailing channel axis, got in1 of shape {a.shape} and in2 of "
                         f"shape {b.shape}")
    if a.size == 0 or b.size == 0:
        raise ValueError(f"in1 and in2 must not be empty, got shapes {a.shape} and {b.shape}")
    nd = b.ndim
    spatial = a.shape[:nd]
    if mode == "valid":
        if not (all(n >= k for n, k in zip(spatial, b.shape))
                or all(k >= n for n, k in zip(spatial, b.shape))):
            raise ValueError(f"for mode='valid' one input must be at least as large as the "
                             f"other in every dimension, got in1 of shape {a.shape} and in2 "
                             f"of shape {b.shape}")
    dtype = compute_dtype(a, b)
    starts, sizes = zip(*(region(n1, n2, mode) for n1, n2 in zip(spatial, b.shape)))
    channels = a.shape[nd:]
    return dtype, sizes + channels, mode, nd, channels, starts, sizes


_DOC = """{title}

    {definition}

    Complex ``in1`` and ``in2`` (complex64, complex128, mixed with real
    arrays) are accepted with SciPy's semantics: {complex_rule}, for every
    algorithm, boundary and mode. The FFT transforms the complex arrays as
    they are; the other algorithms compose the result from real {name}s of
    the real and imaginary parts.

    Parameters
    ----------
    in1 : array_like
        The signal or image: 1-D, 2-D or 3-D (with ``in2.ndim`` dims), or with
        one more trailing axis of channels (an ``(H, W, C)`` image with a
        ``(kh, kw)`` kernel): the kernel's ndim decides which axes are
        spatial, and each channel is filtered on its own. Never modified.
    in2 : array_like
        The kernel, with 1 to 3 dims. It may be larger than ``in1``.
    mode : {{'full', 'same', 'valid'}}, default 'full'
        As ``scipy.signal.{name}``: 'full' is the whole result, of size
        ``N1 + N2 - 1`` per dim; 'same' its centre of ``in1``'s size (start
        index ``(N2 - 1) // 2`` of the full result); 'valid' the outputs
        that need no boundary, of size ``|N1 - N2| + 1`` (one input must be
        at least as large as the other in every dim).
    boundary : {{'fill', 'reflect', 'symmetric', 'mirror', 'nearest', 'wrap'}}, default 'fill'
        How ``in1`` is extended beyond its edges, for 'full' and 'same':
        'fill' with ``fillvalue``; 'reflect' (= 'symmetric', the name of
        ``scipy.signal.convolve2d``) d c b a | a b c d | d c b a; 'mirror'
        d c b | a b c d | c b a; 'nearest' a a | a b c d | d d; 'wrap'
        c d | a b c d | a b. The extension repeats as far as the kernel
        reaches. 'valid' ignores ``boundary`` and ``fillvalue``: its outputs
        read no value outside the inputs.
    fillvalue : float or complex, default 0
        The value beyond the edges for ``boundary='fill'``; complex only
        with a complex ``in1`` or ``in2`` (its real part extends the real
        part of ``in1``, its imaginary part the imaginary part).
    algorithm : {{'auto', 'direct', 'fft', 'winograd'}}, default 'auto'
        'direct' sums the products; 'fft' uses real FFTs, complex ones for
        complex arrays (overlap-save blocks along axes much longer than the
        kernel); 'winograd' (F(2, 3))
        applies to 2-D arrays only, with a kernel of 3 x 3, 3 x 1 or 1 x 3
        taps, and raises ValueError otherwise (the kernel is ``in2``; with
        zero fill and an ``in2`` at least as large as ``in1`` in every dim,
        the two swap roles and ``in1`` is the kernel). 'auto' picks 'direct', 'fft' or, for a rank-1 2-D kernel,
        'direct' as two 1-D passes (only 'auto' does that), by a cost model
        measured on the development machine; it never picks 'winograd'.
    out : ndarray, optional
        Array of exactly the result's shape and dtype to write into; it must
        not overlap an input.

    Returns
    -------
    ndarray
        Spatial shape set by ``mode`` (then the channel axis, if any); dtype
        float32 when both inputs are float32 (or float16), float64 otherwise
        (integer and bool inputs are computed in float64); complex when an
        input is complex: the complex dtype of that rule applied to the real
        parts (complex64 with float64 gives complex128, as ``np.result_type``).

    Raises
    ------
    ValueError
        For an unknown mode, boundary or algorithm, inputs of unsupported or
        inconsistent dims, an empty input, shapes that have no 'valid' part,
        ``algorithm='winograd'`` on arrays or a kernel it does not apply to,
        or a bad ``out`` (a complex result needs a complex ``out``).
    TypeError
        For non-numeric or extended-precision inputs, or a complex
        ``fillvalue`` with real inputs.

    See Also
    --------
    {other} : {other_what}
    fastconv.conv2d : Multichannel convolution layers (PyTorch's conventions).
    fastconv.reference.{name} : The float64 definition the tests compare with.

    Notes
    -----
    Results agree with ``scipy.signal.{name}`` in every mode, with
    ``scipy.signal.convolve2d`` for its boundaries, and with
    ``scipy.ndimage.{name}(mode=...)`` for ``mode='same'`` and an odd kernel.
    ``scipy.signal.correlate2d`` centres 'same' differently for kernels of
    even size (one sample later); fastconv follows ``scipy.signal.correlate``.

    Examples
    --------
{examples}
"""

_CORR_EXAMPLES = """    >>> import numpy as np, fastconv
    >>> fastconv.correlate([1.0, 2.0, 3.0], [0.0, 1.0, 0.5])
    array([0.5, 2. , 3.5, 3. , 0. ])
    >>> fastconv.correlate([1.0, 2.0, 3.0], [0.0, 1.0, 0.5], mode="same")
    array([2. , 3.5, 3. ])
    >>> img = np.arange(16.0).reshape(4, 4)
    >>> fastconv.correlate(img, np.ones((3, 3)) / 9, mode="same", boundary="nearest")[0]
    array([1.66666667, 2.33333333, 3.33333333, 4.        ])
    >>> rgb = np.ones((4, 5, 3), np.float32)
    >>> fastconv.correlate(rgb, np.ones((3, 3), np.float32), mode="valid").shape
    (2, 3, 3)

    Complex arrays: ``in2`` is conjugated, as ``scipy.signal.correlate`` does.

    >>> fastconv.correlate([1j, 2.0], [1j, 1.0])
    array([0.+1.j, 3.+0.j, 0.-2.j])"""

_CONV_EXAMPLES = """    >>> import numpy as np, fastconv
    >>> fastconv.convolve([1.0, 2.0, 3.0], [0.0, 1.0, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> sig = np.random.default_rng(0).standard_normal(10_000)
    >>> taps = np.hanning(101)
    >>> y = fastconv.convolve(sig, taps, mode="same", algorithm="fft")
    >>> bool(np.allclose(y, np.convolve(sig, taps, mode="same")))
    True"""


def correlate(in1, in2, mode="full", *, boundary="fill", fillvalue=0, algorithm="auto",
              out=None):
    return _correlate(in1, in2, mode, boundary, fillvalue, algorithm, out, False)


def convolve(in1, in2, mode="full", *, boundary="fill", fillvalue=0, algorithm="auto",
             out=None):
    return _correlate(in1, in2, mode, boundary, fillvalue, algorithm, out, True)


correlate.__doc__ = _DOC.format(
    title="Cross-correlate two N-dimensional arrays (1-D to 3-D), as scipy.signal.correlate.",
    definition="``z[k] = sum_t ext(in1)[k + t - (N2 - 1)] * in2[t]`` over the full range "
               "``0 <= k < N1 + N2 - 1`` (multi-indices), where ``ext`` extends ``in1`` by "
               "the boundary rule; the kernel is not flipped.",
    complex_rule="``in2`` is conjugated, ``z[k] = sum_t ext(in1)[k + t - (N2 - 1)] * "
                 "conj(in2[t])``",
    name="correlate", other="convolve", other_what="The same with the kernel flipped.",
    examples=_CORR_EXAMPLES)
convolve.__doc__ = _DOC.format(
    title="Convolve two N-dimensional arrays (1-D to 3-D), as scipy.signal.convolve.",
    definition="``z[k] = sum_t ext(in1)[k - t] * in2[t]`` over the full range "
               "``0 <= k < N1 + N2 - 1`` (multi-indices): :func:`correlate` with ``in2`` "
               "flipped along every axis.",
    complex_rule="``in2`` is not conjugated",
    name="convolve", other="correlate", other_what="The same without flipping the kernel.",
    examples=_CONV_EXAMPLES)
correlate.__module__ = "fastconv"
convolve.__module__ = "fastconv"
