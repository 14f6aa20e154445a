"""``scipy.ndimage``'s linear filters, computed by fastconv.

Every function takes the arguments of its ``scipy.ndimage`` namesake, with
the same defaults, returns the same dtypes and raises the same exceptions
(messages extended with the offending values), so that::

    from fastconv import ndimage

replaces ``from scipy import ndimage`` for :func:`correlate`,
:func:`convolve`, :func:`correlate1d`, :func:`convolve1d`,
:func:`gaussian_filter`, :func:`gaussian_filter1d`, :func:`uniform_filter`,
:func:`uniform_filter1d`, :func:`sobel`, :func:`prewitt`, :func:`laplace`,
:func:`gaussian_laplace`, :func:`gaussian_gradient_magnitude`,
:func:`generic_laplace` and :func:`generic_gradient_magnitude`.

How the values are computed
---------------------------
SciPy computes every filter in float64 and, for separable filters, runs one
1-D pass per axis whose result is cast to the output dtype before the next
pass reads it. fastconv keeps that structure and SciPy's summation order,
and picks the arithmetic by the output dtype:

* float32 output (from float32, bool or 8/16-bit integer input): float32
  arithmetic with fused multiply-adds; separable filters run as two passes
  fused over the rows of each 2-D plane (:mod:`fastconv._kernels._lines`),
  the N-D correlation on fastconv's direct filter kernel
  (:func:`fastconv._signal.correlate_region`). Each pass is within a few
  units in the last place (ulp) of SciPy's value, measured on the magnitude
  of its terms (see the docs' "Coming from SciPy" page for the bounds).
* every other output (float64, integers, float32 from float64 or wide
  integers): float64 arithmetic in SciPy's exact order, every product and
  sum rounded on its own, and each pass cast to the output dtype with the C
  casts SciPy's compiled code applies (truncation toward zero, wrap-around):
  the results are bitwise SciPy's.
* complex arrays: the real and imaginary parts through the real pipeline
  (:mod:`fastconv._complex`); correlations conjugate complex weights, as
  SciPy's do.

Differences from SciPy are listed in the docs' "Coming from SciPy" page.
"""
from collections.abc import Iterable
import math
import numbers
import operator
import warnings

import numpy as np

from fastconv import _complex, _signal
from fastconv._dispatch import isa_level
from fastconv._kernels import _lines
from fastconv._threads import get_num_threads

__all__ = ["correlate", "convolve", "correlate1d", "convolve1d", "gaussian_filter",
           "gaussian_filter1d", "uniform_filter", "uniform_filter1d", "sobel", "prewitt",
           "laplace", "gaussian_laplace", "gaussian_gradient_magnitude", "generic_laplace",
           "generic_gradient_magnitude"]

#: ``mode=`` of the filters -> fastconv's boundary rule (for filters the grid
#: modes extend the array as their plain namesakes do).
MODES = {"reflect": "reflect", "grid-mirror": "reflect", "constant": "fill",
         "grid-constant": "fill", "nearest": "nearest", "mirror": "mirror", "wrap": "wrap",
         "grid-wrap": "wrap"}
#: Input dtypes whose values float32 holds exactly (a float32 output of these
#: is computed in float32).
_F32_INPUTS = frozenset(np.dtype(t) for t in (np.float32, np.bool_, np.int8, np.uint8,
                                               np.int16, np.uint16))
#: The dtypes SciPy's filters read and write (besides complex).
_SUPPORTED = frozenset(np.dtype(t) for t in (np.bool_, np.int8, np.uint8, np.int16, np.uint16,
                                              np.int32, np.uint32, np.int64, np.uint64,
                                              np.float32, np.float64))
_EPS = float(np.finfo(np.float64).eps)


# ---------------------------------------------------------------------------
# SciPy's argument conventions
# ---------------------------------------------------------------------------
def _boundary(mode):
    if not isinstance(mode, str) or mode not in MODES:
        raise RuntimeError(f"boundary mode not supported: mode={mode!r}; use one of "
                           f"{', '.join(MODES)}")
    return MODES[mode]


def _normalize_sequence(value, rank):
    """A scalar repeated ``rank`` times, or a sequence of length ``rank``."""
    if not isinstance(value, str) and np.iterable(value):
        normalized = list(value)
        if len(normalized) != rank:
            raise RuntimeError(f"sequence argument must have length equal to input rank: "
                               f"got {len(normalized)} entries for rank {rank}")
        return normalized
    return [value] * rank


def _check_axes(axes, ndim):
    if axes is None:
        return tuple(range(ndim))
    if np.isscalar(axes):
        axes = (operator.index(axes),)
    elif isinstance(axes, Iterable):
        axes = tuple(operator.index(ax) for ax in axes)
        for ax in axes:
            if ax < -ndim or ax > ndim - 1:
                raise ValueError(f"specified axis: {ax} is out of range for an array of "
                                 f"{ndim} dimensions")
        axes = tuple(ax % ndim if ax < 0 else ax for ax in axes)
    else:
        raise ValueError("axes must be an integer, iterable of integers, or None")
    if len(set(axes)) != len(axes):
        raise ValueError(f"axes must be unique, got {axes}")
    return axes


def _axis(axis, ndim):
    return np.lib.array_utils.normalize_axis_index(operator.index(axis), ndim)


def _check_dtype(dtype, what="array"):
    dtype = np.dtype(dtype)
    if dtype not in _SUPPORTED:
        raise RuntimeError(f"{what} type {dtype} not supported: fastconv.ndimage (as "
                           f"scipy.ndimage) filters bool, integer, float32, float64 and "
                           f"complex arrays")
    return dtype


def _get_output(output, input, shape=None, complex_output=False):
    """SciPy's ``output=`` (None, a dtype, or an array) -> the output array."""
    if shape is None:
        shape = input.shape
    if output is None:
        if not complex_output:
            return np.zeros(shape, dtype=input.dtype.name)
        return np.zeros(shape, dtype=np.promote_types(input.dtype, np.complex64))
    if isinstance(output, (type, np.dtype)):
        if complex_output and np.dtype(output).kind != "c":
            warnings.warn("promoting specified output dtype to complex", stacklevel=3)
            output = np.promote_types(output, np.complex64)
        return np.zeros(shape, dtype=output)
    if isinstance(output, str):
        output = np.dtype(output)
        if complex_output and output.kind != "c":
            raise RuntimeError("output must have complex dtype")
        if not issubclass(output.type, np.number):
            raise RuntimeError("output must have numeric dtype")
        return np.zeros(shape, dtype=output)
    output = np.asarray(output)
    if output.shape != shape:
        raise RuntimeError(f"output shape not correct: got {output.shape}, the result has "
                           f"shape {shape}")
    if complex_output and output.dtype.kind != "c":
        raise RuntimeError("output must have complex dtype")
    return output


def _invalid_origin(origin, lenw):
    return (origin < -(lenw // 2)) or (origin > (lenw - 1) // 2)


def _c_cast(values, dtype):
    """float64 ``values`` in ``dtype`` as SciPy's compiled code casts them (C
    casts on x86-64: truncation toward zero, wrap-around; uint32 through int64)."""
    dtype = np.dtype(dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        if dtype == np.uint32:
            return values.astype(np.int64).astype(np.uint32)
        if dtype == np.bool_:       # npy_bool is a byte: (unsigned char) of the value
            return values.astype(np.uint8).view(np.bool_)
        return values.astype(dtype)


def _as_float(a, dtype):
    """``a`` as a C-contiguous float array of ``dtype``, booleans by their byte
    values (as SciPy reads them)."""
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    return np.ascontiguousarray(a, dtype=dtype)


def _sym(w):
    """SciPy's symmetry test of a 1-D kernel (NI_Correlate1D): +1, -1 or 0."""
    k = w.size
    if k % 2 == 0:
        return 0
    c = k // 2
    left, right = w[c - 1::-1] if c else w[:0], w[c + 1:]
    if np.all(np.abs(right - left) <= _EPS):
        return 1
    if np.all(np.abs(right + left) <= _EPS):
        return -1
    return 0


def _axis_map(n, k, origin, boundary):
    """Input index of each of the ``n + k - 1`` extended positions of a pass
    (-1: cval); position ``p`` is element ``p - (k // 2 + origin)``."""
    off = k // 2 + origin
    return _signal.extend_index(np.arange(n + k - 1, dtype=np.int64) - off, n, boundary), off


# ---------------------------------------------------------------------------
# 1-D passes and their composition
# ---------------------------------------------------------------------------
class _Pass:
    """One 1-D pass of a separable filter: a correlation with float64 taps
    ``w``, or a uniform filter of ``size`` taps (``w`` None)."""

    __slots__ = ("axis", "w", "size", "boundary", "cval", "origin")

    def __init__(self, axis, w, size, boundary, cval, origin):
        self.axis, self.w, self.size = axis, w, size
        self.boundary, self.cval, self.origin = boundary, cval, int(origin)

    @property
    def taps(self):
        return self.size if self.w is None else self.w.size

    def kernel_pass(self, n, dtype):
        imap, off = _axis_map(n, self.taps, self.origin, self.boundary)
        return _lines.Pass(self.w.astype(dtype), imap, off, _sym(self.w), float(self.cval))

    def run(self, x, out, flavour):
        """This pass along its axis of C-contiguous ``x`` into ``out``."""
        a = self.axis
        view = (math.prod(x.shape[:a]), x.shape[a], math.prod(x.shape[a + 1:]))
        xv, ov = x.reshape(view), out.reshape(view)
        threads, isa = _threads_for(x.size), isa_level()
        if self.w is None:
            imap, off = _axis_map(x.shape[a], self.size, self.origin, self.boundary)
            _lines.uniform(xv, self.size, imap, off, float(self.cval), ov, threads, isa)
        else:
            _lines.corr(xv, self.kernel_pass(x.shape[a], x.dtype), ov, flavour, threads, isa)
        return out


#: Below this many elements a pass runs on one thread: waking a second
#: thread costs more than the pass (results do not depend on the count).
_PARALLEL_MIN_ELEMENTS = 1 << 15


def _threads_for(elements):
    return get_num_threads() if elements >= _PARALLEL_MIN_ELEMENTS else 1


#: Bytes of the band of rows an item of the fused kernel holds (its band
#: buffer stays in a 512 KiB L2 cache), and the band's bounds in rows.
_FUSED_BAND_BYTES = 256 * 1024
_FUSED_ROWS = (8, 64)


def _fusable(p, q, ndim):
    """Whether passes p then q run fused over the last two axes: correlations
    in either order, uniform filters vertical then horizontal (one cval)."""
    if ndim < 2 or {p.axis, q.axis} != {ndim - 2, ndim - 1}:
        return False
    if p.w is not None and q.w is not None:
        return True
    return p.w is None and q.w is None and p.axis == ndim - 2 and p.cval == q.cval


def _run_fused(x, p, q, out, flavour, combine=_lines.COMPOSE):
    h, w = x.shape[-2:]
    view = (math.prod(x.shape[:-2]), h, w)
    if p.w is None:               # two uniform passes, vertical first
        mv, ov = _axis_map(h, p.size, p.origin, p.boundary)
        mh, oh = _axis_map(w, q.size, q.origin, q.boundary)
        _lines.uniform2d(x.reshape(view), p.size, mv, ov, q.size, mh, oh, float(p.cval),
                         out.reshape(view), _threads_for(x.size), isa_level())
        return out
    vfirst = p.axis == x.ndim - 2
    pv, ph = (p, q) if vfirst else (q, p)
    kv, kh = pv.kernel_pass(h, x.dtype), ph.kernel_pass(w, x.dtype)
    first, second = (kv, kh) if vfirst else (kh, kv)
    rows = min(max(_FUSED_BAND_BYTES // (w * x.itemsize), _FUSED_ROWS[0]), _FUSED_ROWS[1])
    if pv.taps < _lines.COPY_TAPS:
        # Row by row, no band: an item refills its ring of rows once, so a few
        # long items (two per thread) are best.
        rows = max(rows, -(-h // (2 * _threads_for(x.size))))
    _lines.fused(x.reshape(view), first, second, out.reshape(view), vfirst, combine, flavour,
                 _threads_for(x.size), isa_level(), rows)
    return out


#: In float32, a uniform filter of at most this many taps runs as a
#: correlation with taps 1 / size (fused with the other pass like any
#: correlation; within a few ulp, as every float32 pass); larger ones, and
#: every float64 one, run SciPy's running sum (bitwise SciPy's).
_BOX_TAPS = 15


def _box_as_taps(p):
    if p.w is not None or p.size > _BOX_TAPS:
        return p
    return _Pass(p.axis, np.full(p.size, 1.0 / p.size), None, p.boundary, p.cval, p.origin)


def _plan(input, output):
    """``(flavour, compute dtype, per-pass cast)`` for a filter of ``input`` into ``output``."""
    if output.dtype == np.float32 and input.dtype in _F32_INPUTS:
        return _lines.F32, np.dtype(np.float32), False
    return _lines.F64_EXACT, np.dtype(np.float64), output.dtype != np.float64


def _write(output, result, input):
    """``result`` into the caller's ``output`` (cast as SciPy casts)."""
    if result is output or (result.dtype == output.dtype and result.strides == output.strides
                            and result.__array_interface__["data"][0]
                            == output.__array_interface__["data"][0]):
        return output
    if output.dtype == result.dtype:
        output[...] = result
    else:
        output[...] = _c_cast(result, output.dtype)
    return output


def _run_passes(input, passes, output):
    """SciPy's sequence of 1-D passes: ``input`` -> ``output`` (an array),
    every intermediate cast to the output dtype."""
    if not passes:
        output[...] = input
        return output
    if input.dtype.kind == "c" or output.dtype.kind == "c":
        return _complex_passes(input, passes, output)
    _check_dtype(input.dtype)
    _check_dtype(output.dtype, "output")
    for p in passes:
        _cval(p.cval)
    if input.size == 0:
        return output
    flavour, cdt, cast = _plan(input, output)
    if flavour == _lines.F32:
        passes = [_box_as_taps(p) for p in passes]
    x = _as_float(input, cdt)
    direct_out = (output.dtype == cdt and output.flags.c_contiguous
                  and not np.shares_memory(output, input))
    if cast:
        # float64 passes, each cast to the output dtype and read back from it.
        for i, p in enumerate(passes):
            y = p.run(x, np.empty(x.shape, cdt), flavour)
            y = _c_cast(y, output.dtype)
            if i + 1 < len(passes):
                x = _as_float(y, cdt)
        output[...] = y
        return output
    # Uncast passes, fused in pairs over the last two axes where possible.
    groups, i = [], 0
    while i < len(passes):
        if i + 1 < len(passes) and _fusable(passes[i], passes[i + 1], x.ndim):
            groups.append((passes[i], passes[i + 1]))
            i += 2
        else:
            groups.append((passes[i],))
            i += 1
    # Destinations: the last group writes the result; a uniform pass along the
    # last axis buffers whole lines and may run in place, so the group before
    # it writes the result array too. Other groups ping-pong between buffers.
    final = output if direct_out else np.empty(x.shape, cdt)
    spare = []
    for g, group in enumerate(groups):
        if g + 1 == len(groups):
            target = final
        elif _in_place(groups[g + 1], x.ndim) and x is not final:
            target = final
        else:
            target = next((b for b in spare if b is not x), None)
            if target is None:
                target = np.empty(x.shape, cdt)
                spare.append(target)
        if len(group) == 2:
            _run_fused(x, group[0], group[1], target, flavour)
        else:
            group[0].run(x, target, flavour)
        x = target
    return _write(output, x, input)


def _in_place(group, ndim):
    """Whether a group of passes may read and write the same array: a uniform
    pass along the last axis (its items buffer whole lines first)."""
    return len(group) == 1 and group[0].w is None and group[0].axis == ndim - 1


def _complex_passes(input, passes, output):
    """Real passes over the real and imaginary parts (real taps)."""
    real_out = np.dtype(_complex.REAL_OF.get(output.dtype, output.dtype))
    if output.dtype.kind != "c":
        raise RuntimeError("output must have complex dtype")
    parts = [np.real(input), np.imag(input)] if input.dtype.kind == "c" else [input, None]
    for k, part in enumerate(parts):
        if part is None:
            np.imag(output)[...] = 0
            continue
        cvals = [np.real(p.cval) if k == 0 else np.imag(p.cval) for p in passes]
        ps = [_Pass(p.axis, p.w, p.size, p.boundary, c, p.origin)
              for p, c in zip(passes, cvals)]
        res = _run_passes(part, ps, np.empty(output.shape, real_out))
        (np.real if k == 0 else np.imag)(output)[...] = res
    return output


def _cval(cval):
    if isinstance(cval, (complex, np.complexfloating)):
        raise TypeError(f"must be real number, not complex (cval={cval!r})")
    return float(cval)


# ---------------------------------------------------------------------------
# correlate1d / convolve1d
# ---------------------------------------------------------------------------
def _weights1d(weights):
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.shape[0] < 1:
        raise RuntimeError(f"no filter weights given: weights must be a non-empty 1-D "
                           f"sequence, got shape {w.shape}")
    return np.ascontiguousarray(w)


def _complex_1d(input, weights, axis, output, mode, cval, origin):
    """correlate1d of complex arrays (weights already conjugated)."""
    output = _get_output(output, input, complex_output=True)
    w = weights.astype(np.complex128, copy=False) if weights.dtype.kind == "c" else weights
    axis_ = _axis(axis, input.ndim)

    def real(xr, wr, fill):
        res = np.empty(xr.shape, _complex.REAL_OF[output.dtype])
        return correlate1d(xr, wr, axis_, res, mode, fill, origin)

    if input.dtype.kind != "c" and isinstance(cval, (complex, np.complexfloating)) \
            and np.imag(cval) != 0:
        raise ValueError("Cannot provide a complex-valued cval when the input is real.")
    output[...] = _complex.bilinear(real, input, w, fill=cval)
    return output


def correlate1d(input, weights, axis=-1, output=None, mode="reflect", cval=0.0, origin=0):
    """Correlate an array with 1-D weights along one axis, as ``scipy.ndimage.correlate1d``.

    ``out[..., i, ...] = sum_t weights[t] * ext(input)[..., i + t - (K // 2 + origin), ...]``
    along ``axis``, for ``K = len(weights)``, where ``ext`` extends ``input``
    beyond its edges by ``mode``.

    Parameters
    ----------
    input : array_like
        The array; bool, integer, float32, float64 or complex.
    weights : array_like
        1-D weights (complex weights are conjugated).
    axis : int, default -1
        The axis to filter along.
    output : ndarray or dtype, optional
        The array to write into, or the dtype of the result (default: the
        input's dtype).
    mode : {'reflect', 'constant', 'nearest', 'mirror', 'wrap', 'grid-mirror', 'grid-constant', 'grid-wrap'}, default 'reflect'
        How ``input`` is extended beyond its edges: 'reflect' (= 'grid-mirror')
        ``d c b a | a b c d | d c b a``; 'mirror' ``d c b | a b c d | c b a``;
        'nearest' ``a a a | a b c d | d d d``; 'wrap' (= 'grid-wrap')
        ``a b c d | a b c d | a b c d``; 'constant' (= 'grid-constant') ``cval``.
    cval : scalar, default 0.0
        The value beyond the edges for 'constant'.
    origin : int, default 0
        Shifts the weights: ``-(K // 2) <= origin <= (K - 1) // 2``.

    Returns
    -------
    ndarray
        The result, of ``input``'s shape.

    Raises
    ------
    RuntimeError
        For empty or non-1-D weights, an unknown mode, unsupported dtypes or a
        wrong ``output`` shape (as SciPy).
    ValueError
        For an invalid origin.

    See Also
    --------
    convolve1d : The same with the weights flipped.
    scipy.ndimage.correlate1d : The function this one mirrors.

    Examples
    --------
    >>> from fastconv import ndimage
    >>> ndimage.correlate1d([2, 8, 0, 4, 1, 9, 9, 0], weights=[1, 3])
    array([ 8, 26,  8, 12,  7, 28, 36,  9])
    >>> ndimage.correlate1d([2.0, 8.0, 0.0, 4.0], [1, 1, 1], mode="constant", cval=10)
    array([20., 10., 12., 14.])
    """
    input = np.asarray(input)
    weights = np.asarray(weights)
    if input.dtype.kind == "c" or weights.dtype.kind == "c":
        if weights.dtype.kind == "c":
            weights = weights.conj()
        return _complex_1d(input, weights, axis, output, mode, cval, origin)
    output = _get_output(output, input)
    w = _weights1d(weights)
    axis = _axis(axis, input.ndim)
    if _invalid_origin(origin, len(w)):
        raise ValueError(f"Invalid origin; origin must satisfy -(len(weights) // 2) <= origin "
                         f"<= (len(weights)-1) // 2, got origin={origin} for {len(w)} weights")
    p = _Pass(axis, w, None, _boundary(mode), cval, origin)
    return _run_passes(input, [p], output)


def convolve1d(input, weights, axis=-1, output=None, mode="reflect", cval=0.0, origin=0):
    """Convolve an array with 1-D weights along one axis, as ``scipy.ndimage.convolve1d``.

    :func:`correlate1d` with the weights flipped and the origin mirrored
    (``-origin``, and one less for an even number of weights).

    Parameters
    ----------
    input : array_like
        The array.
    weights : array_like
        1-D weights (not conjugated).
    axis : int, default -1
    output : ndarray or dtype, optional
    mode : str, default 'reflect'
        As in :func:`correlate1d`.
    cval : scalar, default 0.0
    origin : int, default 0

    Returns
    -------
    ndarray
        The result, of ``input``'s shape.

    Raises
    ------
    RuntimeError, ValueError
        As :func:`correlate1d`.

    See Also
    --------
    correlate1d
    scipy.ndimage.convolve1d : The function this one mirrors.

    Examples
    --------
    >>> from fastconv import ndimage
    >>> ndimage.convolve1d([2, 8, 0, 4, 1, 9, 9, 0], weights=[1, 3])
    array([14, 24,  4, 13, 12, 36, 27,  0])
    """
    weights = np.asarray(weights)
    weights = weights[::-1]
    origin = -origin
    if not weights.shape[0] & 1:
        origin -= 1
    if weights.dtype.kind == "c":
        weights = weights.conj()       # correlate1d conjugates it back
    return correlate1d(input, weights, axis, output, mode, cval, origin)


# ---------------------------------------------------------------------------
# Gaussian filters
# ---------------------------------------------------------------------------
def _gaussian_kernel1d(sigma, order, radius):
    """SciPy's 1-D Gaussian kernel (or its ``order``-th derivative), computed by
    the same operations so that its float64 values are SciPy's bit for bit."""
    if order < 0:
        raise ValueError(f"order must be non-negative, got {order}")
    exponent_range = np.arange(order + 1)
    sigma2 = sigma * sigma
    x = np.arange(-radius, radius + 1)
    phi_x = np.exp(-0.5 / sigma2 * x ** 2)
    phi_x = phi_x / phi_x.sum()
    if order == 0:
        return phi_x
    q = np.zeros(order + 1)
    q[0] = 1
    d = np.diag(exponent_range[1:], 1)             # d @ q(x) = q'(x)
    p = np.diag(np.ones(order) / -sigma2, -1)      # p @ q(x) = q(x) * p'(x)
    q_deriv = d + p
    for _ in range(order):
        q = q_deriv.dot(q)
    q = (x[:, None] ** exponent_range).dot(q)
    return q * phi_x


def _gaussian_taps(sigma, order, truncate, radius):
    sd = float(sigma)
    lw = int(truncate * sd + 0.5)
    if radius is not None:
        lw = radius
    if not isinstance(lw, numbers.Integral) or lw < 0:
        raise ValueError(f"Radius must be a nonnegative integer, got radius={lw!r}")
    return np.ascontiguousarray(_gaussian_kernel1d(sigma, order, lw)[::-1])


def gaussian_filter1d(input, sigma, axis=-1, order=0, output=None, mode="reflect", cval=0.0,
                      truncate=4.0, *, radius=None):
    """1-D Gaussian filter along one axis, as ``scipy.ndimage.gaussian_filter1d``.

    Parameters
    ----------
    input : array_like
        The array.
    sigma : scalar
        Standard deviation of the Gaussian.
    axis : int, default -1
    order : int, default 0
        0 smooths; 1, 2, 3, ... convolve with that derivative of the Gaussian.
    output : ndarray or dtype, optional
    mode : str, default 'reflect'
        As in :func:`correlate1d`.
    cval : scalar, default 0.0
    truncate : float, default 4.0
        The kernel's radius is ``int(truncate * sigma + 0.5)``.
    radius : int, optional
        The kernel's radius, instead of ``truncate``.

    Returns
    -------
    ndarray
        The result, of ``input``'s shape.

    Raises
    ------
    ValueError
        For a negative order or radius.
    RuntimeError
        As :func:`correlate1d`.

    See Also
    --------
    gaussian_filter : The N-D filter.
    scipy.ndimage.gaussian_filter1d : The function this one mirrors.

    Examples
    --------
    >>> from fastconv import ndimage
    >>> ndimage.gaussian_filter1d([1.0, 2.0, 3.0, 4.0, 5.0], 1)
    array([1.42704095, 2.06782203, 3.        , 3.93217797, 4.57295905])
    >>> ndimage.gaussian_filter1d([1.0, 2.0, 3.0, 4.0, 5.0], 1, order=1).round(4)
    array([0.3638, 0.8488, 0.9701, 0.8488, 0.3638])
    """
    weights = _gaussian_taps(sigma, order, truncate, radius)
    return correlate1d(input, weights, axis, output, mode, cval, 0)


def _gaussian_passes(ndim, sigma, order, mode, cval, truncate, radius, axes):
    axes = _check_axes(axes, ndim)
    n = len(axes)
    orders = _normalize_sequence(order, n)
    sigmas = _normalize_sequence(sigma, n)
    modes = _normalize_sequence(mode, n)
    radii = _normalize_sequence(radius, n)
    return [_Pass(ax, _gaussian_taps(s, o, truncate, r), None, _boundary(m), cval, 0)
            for ax, s, o, m, r in zip(axes, sigmas, orders, modes, radii) if s > 1e-15]


def gaussian_filter(input, sigma, order=0, output=None, mode="reflect", cval=0.0, truncate=4.0,
                    *, radius=None, axes=None):
    """Multidimensional Gaussian filter, as ``scipy.ndimage.gaussian_filter``.

    A 1-D Gaussian pass along each axis (of ``axes``) in turn, each cast to
    the output dtype before the next (SciPy's semantics); on 2-D planes two
    passes run fused in one sweep over the image.

    Parameters
    ----------
    input : array_like
        The array.
    sigma : scalar or sequence of scalars
        Standard deviation per axis (axes with sigma <= 1e-15 are skipped).
    order : int or sequence of ints, default 0
        Derivative order per axis (0: smoothing).
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
        Per axis, as in :func:`correlate1d`.
    cval : scalar, default 0.0
    truncate : float, default 4.0
        Radius in standard deviations.
    radius : int or sequence of ints, optional
        Radius per axis, instead of ``truncate``.
    axes : int or sequence of int, optional
        The axes to filter (default: all); ``sigma``, ``order``, ``mode`` and
        ``radius`` sequences then have one entry per axis of ``axes``.

    Returns
    -------
    ndarray
        The result, of ``input``'s shape.

    Raises
    ------
    RuntimeError
        For sequences of the wrong length, an unknown mode or unsupported
        dtypes (float16 among them, as SciPy).
    ValueError
        For a negative order or radius, or bad axes.

    See Also
    --------
    gaussian_filter1d
    scipy.ndimage.gaussian_filter : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> a = np.arange(50, step=2).reshape((5, 5))
    >>> ndimage.gaussian_filter(a, sigma=1)
    array([[ 4,  6,  8,  9, 11],
           [10, 12, 14, 15, 17],
           [20, 22, 24, 25, 27],
           [29, 31, 33, 34, 36],
           [35, 37, 39, 40, 42]])
    >>> img = np.random.default_rng(0).random((64, 64), dtype=np.float32)
    >>> ndimage.gaussian_filter(img, [2, 1], order=[0, 1], mode=["nearest", "wrap"]).dtype
    dtype('float32')
    """
    input = np.asarray(input)
    output = _get_output(output, input)
    passes = _gaussian_passes(input.ndim, sigma, order, mode, cval, truncate, radius, axes)
    return _run_passes(input, passes, output)


# ---------------------------------------------------------------------------
# Uniform filters
# ---------------------------------------------------------------------------
def _uniform_pass(ndim, size, axis, mode, cval, origin):
    if size < 1:
        raise RuntimeError(f"incorrect filter size: size must be >= 1, got {size}")
    if (size // 2 + origin < 0) or (size // 2 + origin >= size):
        raise ValueError(f"invalid origin: size // 2 + origin must be in [0, size), got "
                         f"origin={origin} for size={size}")
    return _Pass(axis, None, int(size), _boundary(mode), cval, origin)


def uniform_filter1d(input, size, axis=-1, output=None, mode="reflect", cval=0.0, origin=0):
    """1-D uniform (box) filter along one axis, as ``scipy.ndimage.uniform_filter1d``.

    The mean of ``size`` consecutive values, by SciPy's running sum (in
    float64, bitwise SciPy's).

    Parameters
    ----------
    input : array_like
        The array.
    size : int
        Length of the box.
    axis : int, default -1
    output : ndarray or dtype, optional
    mode : str, default 'reflect'
        As in :func:`correlate1d`.
    cval : scalar, default 0.0
    origin : int, default 0
        ``0 <= size // 2 + origin < size``.

    Returns
    -------
    ndarray
        The result, of ``input``'s shape.

    Raises
    ------
    RuntimeError
        For a size below 1, an unknown mode or unsupported dtypes.
    ValueError
        For an invalid origin.

    See Also
    --------
    uniform_filter : The N-D filter.
    scipy.ndimage.uniform_filter1d : The function this one mirrors.

    Examples
    --------
    >>> from fastconv import ndimage
    >>> ndimage.uniform_filter1d([2, 8, 0, 4, 1, 9, 9, 0], size=3)
    array([4, 3, 4, 1, 4, 6, 6, 3])
    """
    input = np.asarray(input)
    axis = _axis(axis, input.ndim)
    complex_output = input.dtype.kind == "c"
    output = _get_output(output, input, complex_output=complex_output)
    p = _uniform_pass(input.ndim, size, axis, mode, cval, origin)
    return _run_passes(input, [p], output)


def uniform_filter(input, size=3, output=None, mode="reflect", cval=0.0, origin=0, *,
                   axes=None):
    """Multidimensional uniform (box) filter, as ``scipy.ndimage.uniform_filter``.

    A running-sum pass along each axis (of ``axes``) whose size is above 1,
    each cast to the output dtype before the next.

    Parameters
    ----------
    input : array_like
        The array.
    size : int or sequence of ints, default 3
        Box size per axis.
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
    cval : scalar, default 0.0
    origin : int or sequence of ints, default 0
    axes : int or sequence of int, optional
        The axes to filter (default: all).

    Returns
    -------
    ndarray
        The result, of ``input``'s shape.

    Raises
    ------
    RuntimeError
        For sequences of the wrong length, a size below 1, an unknown mode or
        unsupported dtypes.
    ValueError
        For an invalid origin or bad axes.

    See Also
    --------
    uniform_filter1d
    scipy.ndimage.uniform_filter : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.uniform_filter(np.arange(16.0).reshape(4, 4), size=3, mode="nearest")[0]
    array([1.66666667, 2.33333333, 3.33333333, 4.        ])
    """
    input = np.asarray(input)
    complex_output = input.dtype.kind == "c"
    output = _get_output(output, input, complex_output=complex_output)
    axes = _check_axes(axes, input.ndim)
    n = len(axes)
    sizes = _normalize_sequence(size, n)
    origins = _normalize_sequence(origin, n)
    modes = _normalize_sequence(mode, n)
    passes = []
    for ax, s, o, m in zip(axes, sizes, origins, modes):
        if s > 1:
            passes.append(_uniform_pass(input.ndim, int(s), ax, m, cval, o))
    return _run_passes(input, passes, output)


# ---------------------------------------------------------------------------
# Derivatives
# ---------------------------------------------------------------------------
def _derivative_passes(input, axis, mode, cval, smooth):
    axis = _axis(axis, input.ndim)
    modes = _normalize_sequence(mode, input.ndim)
    passes = [_Pass(axis, np.array([-1.0, 0.0, 1.0]), None, _boundary(modes[axis]), cval, 0)]
    passes += [_Pass(ax, np.array(smooth, dtype=np.float64), None, _boundary(modes[ax]),
                     cval, 0) for ax in range(input.ndim) if ax != axis]
    return passes


def sobel(input, axis=-1, output=None, mode="reflect", cval=0.0):
    """Sobel derivative along one axis, as ``scipy.ndimage.sobel``.

    ``[-1, 0, 1]`` along ``axis``, then ``[1, 2, 1]`` along every other axis,
    each pass cast to the output dtype (2-D planes: the two passes fused).

    Parameters
    ----------
    input : array_like
        The array.
    axis : int, default -1
        The axis of the derivative.
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
        Per axis (one entry per dimension of ``input``).
    cval : scalar, default 0.0

    Returns
    -------
    ndarray
        The result, of ``input``'s shape.

    Raises
    ------
    RuntimeError
        For a mode sequence of the wrong length, an unknown mode or
        unsupported dtypes.

    See Also
    --------
    prewitt : The same with ``[1, 1, 1]`` smoothing.
    scipy.ndimage.sobel : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> img = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]], dtype=float)
    >>> ndimage.sobel(img, axis=1)
    array([[0., 4., 4., 0.],
           [0., 4., 4., 0.],
           [0., 4., 4., 0.]])
    """
    input = np.asarray(input)
    passes = _derivative_passes(input, axis, mode, cval, [1, 2, 1])
    output = _get_output(output, input)
    return _run_passes(input, passes, output)


def prewitt(input, axis=-1, output=None, mode="reflect", cval=0.0):
    """Prewitt derivative along one axis, as ``scipy.ndimage.prewitt``.

    ``[-1, 0, 1]`` along ``axis``, then ``[1, 1, 1]`` along every other axis,
    each pass cast to the output dtype.

    Parameters
    ----------
    input : array_like
        The array.
    axis : int, default -1
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
    cval : scalar, default 0.0

    Returns
    -------
    ndarray
        The result, of ``input``'s shape.

    Raises
    ------
    RuntimeError
        As :func:`sobel`.

    See Also
    --------
    sobel
    scipy.ndimage.prewitt : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.prewitt(np.array([[0, 1, 2], [0, 1, 2]]), axis=1)
    array([[3, 6, 3],
           [3, 6, 3]])
    """
    input = np.asarray(input)
    passes = _derivative_passes(input, axis, mode, cval, [1, 1, 1])
    output = _get_output(output, input)
    return _run_passes(input, passes, output)


def generic_laplace(input, derivative2, output=None, mode="reflect", cval=0.0,
                    extra_arguments=(), extra_keywords=None, *, axes=None):
    """N-D Laplace filter from a given second derivative, as ``scipy.ndimage.generic_laplace``.

    ``derivative2(input, axis, output, mode, cval, *extra_arguments,
    **extra_keywords)`` along the first axis into ``output``, then each
    further axis into a new array of the output dtype, added to ``output``.

    Parameters
    ----------
    input : array_like
        The array.
    derivative2 : callable
        The second derivative along one axis (signature above).
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
        Per axis of ``axes``.
    cval : scalar, default 0.0
    extra_arguments : sequence, optional
    extra_keywords : dict, optional
    axes : int or sequence of int, optional
        The axes to sum over (default: all).

    Returns
    -------
    ndarray
        The result, of ``input``'s shape.

    See Also
    --------
    laplace, gaussian_laplace
    scipy.ndimage.generic_laplace : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> def d2(input, axis, output, mode, cval):
    ...     return ndimage.correlate1d(input, [1, -2, 1], axis, output, mode, cval, 0)
    >>> ndimage.generic_laplace(np.eye(3), d2)
    array([[-2.,  2.,  0.],
           [ 2., -4.,  2.],
           [ 0.,  2., -2.]])
    """
    if extra_keywords is None:
        extra_keywords = {}
    input = np.asarray(input)
    output = _get_output(output, input)
    axes = _check_axes(axes, input.ndim)
    if len(axes) > 0:
        modes = _normalize_sequence(mode, len(axes))
        derivative2(input, axes[0], output, modes[0], cval, *extra_arguments,
                    **extra_keywords)
        for ii in range(1, len(axes)):
            tmp = derivative2(input, axes[ii], output.dtype, modes[ii], cval,
                              *extra_arguments, **extra_keywords)
            output += tmp
    else:
        output[...] = input[...]
    return output


def laplace(input, output=None, mode="reflect", cval=0.0, *, axes=None):
    """N-D Laplace filter by second differences, as ``scipy.ndimage.laplace``.

    The sum over ``axes`` of ``[1, -2, 1]`` passes, each cast to the output
    dtype and added in the output dtype; on a 2-D array both passes and the
    sum run in one sweep.

    Parameters
    ----------
    input : array_like
        The array.
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
        Per axis of ``axes``.
    cval : scalar, default 0.0
    axes : int or sequence of int, optional
        The axes to sum over (default: all).

    Returns
    -------
    ndarray
        The result, of ``input``'s shape.

    Raises
    ------
    RuntimeError
        As :func:`correlate1d`.

    See Also
    --------
    generic_laplace, gaussian_laplace
    scipy.ndimage.laplace : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.laplace(np.array([[0.0, 0, 0], [0, 1, 0], [0, 0, 0]]), mode="constant")
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]])
    """
    input = np.asarray(input)
    taps = np.array([1.0, -2.0, 1.0])
    if input.ndim == 2 and input.dtype.kind != "c":
        axes_ = _check_axes(axes, 2)
        out = _get_output(output, input)
        if len(axes_) == 2 and out.dtype.kind != "c":
            _check_dtype(input.dtype)
            _check_dtype(out.dtype, "output")
            flavour, cdt, cast = _plan(input, out)
            if not cast:
                modes = _normalize_sequence(mode, 2)
                cv = _cval(cval)
                p, q = (_Pass(ax, taps, None, _boundary(m), cv, 0) for ax, m in zip(axes_, modes))
                x = _as_float(input, cdt)
                direct = (out.dtype == cdt and out.flags.c_contiguous
                          and not np.shares_memory(out, input))
                target = out if direct else np.empty(x.shape, cdt)
                _run_fused(x, p, q, target, flavour, _lines.SUM)
                return _write(out, target, input)
        output = out

    def derivative2(input, axis, output, mode, cval):
        return correlate1d(input, taps, axis, output, mode, cval, 0)

    return generic_laplace(input, derivative2, output, mode, cval, axes=axes)


def gaussian_laplace(input, sigma, output=None, mode="reflect", cval=0.0, *, axes=None,
                     **kwargs):
    """N-D Laplace filter with Gaussian second derivatives, as ``scipy.ndimage.gaussian_laplace``.

    The sum over ``axes`` of :func:`gaussian_filter` with ``order`` 2 along
    one axis and 0 along the others, each in the output dtype.

    Parameters
    ----------
    input : array_like
        The array.
    sigma : scalar or sequence of scalars
        Per axis of ``axes``.
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
    cval : scalar, default 0.0
    axes : int or sequence of int, optional
    **kwargs
        Passed to :func:`gaussian_filter` (``truncate``, ``radius``).

    Returns
    -------
    ndarray
        The result, of ``input``'s shape.

    See Also
    --------
    gaussian_filter, generic_laplace
    scipy.ndimage.gaussian_laplace : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> img = np.zeros((7, 7)); img[3, 3] = 1
    >>> float(ndimage.gaussian_laplace(img, sigma=1)[3, 3].round(4))
    -0.3183
    """
    input = np.asarray(input)

    def derivative2(input, axis, output, mode, cval, sigma, **kwargs):
        order = [0] * input.ndim
        order[axis] = 2
        return gaussian_filter(input, sigma, order, output, mode, cval, **kwargs)

    axes = _check_axes(axes, input.ndim)
    num_axes = len(axes)
    sigma = _normalize_sequence(sigma, num_axes)
    if num_axes < input.ndim:
        sigma_temp = [0] * input.ndim
        for s, ax in zip(sigma, axes):
            sigma_temp[ax] = s
        sigma = sigma_temp
    return generic_laplace(input, derivative2, output, mode, cval, extra_arguments=(sigma,),
                           extra_keywords=kwargs, axes=axes)


def generic_gradient_magnitude(input, derivative, output=None, mode="reflect", cval=0.0,
                               extra_arguments=(), extra_keywords=None, *, axes=None):
    """Gradient magnitude from a given first derivative, as ``scipy.ndimage.generic_gradient_magnitude``.

    ``sqrt(sum over axes of derivative(input, axis, ...) ** 2)``, every
    operation in the output dtype (SciPy's semantics).

    Parameters
    ----------
    input : array_like
        The array.
    derivative : callable
        ``derivative(input, axis, output, mode, cval, *extra_arguments,
        **extra_keywords)``.
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
        Per axis of ``axes``.
    cval : scalar, default 0.0
    extra_arguments : sequence, optional
    extra_keywords : dict, optional
    axes : int or sequence of int, optional

    Returns
    -------
    ndarray
        The result, of ``input``'s shape.

    See Also
    --------
    gaussian_gradient_magnitude
    scipy.ndimage.generic_gradient_magnitude : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> img = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]], dtype=float)
    >>> ndimage.generic_gradient_magnitude(img, ndimage.sobel)
    array([[0., 4., 4., 0.],
           [0., 4., 4., 0.],
           [0., 4., 4., 0.]])
    """
    if extra_keywords is None:
        extra_keywords = {}
    input = np.asarray(input)
    output = _get_output(output, input)
    axes = _check_axes(axes, input.ndim)
    if len(axes) > 0:
        modes = _normalize_sequence(mode, len(axes))
        derivative(input, axes[0], output, modes[0], cval, *extra_arguments, **extra_keywords)
        np.multiply(output, output, output)
        for ii in range(1, len(axes)):
            tmp = derivative(input, axes[ii], output.dtype, modes[ii], cval, *extra_arguments,
                             **extra_keywords)
            np.multiply(tmp, tmp, tmp)
            output += tmp
        np.sqrt(output, output, casting="unsafe")
    else:
        output[...] = input[...]
    return output


def gaussian_gradient_magnitude(input, sigma, output=None, mode="reflect", cval=0.0, *,
                                axes=None, **kwargs):
    """Gradient magnitude with Gaussian derivatives, as ``scipy.ndimage.gaussian_gradient_magnitude``.

    Parameters
    ----------
    input : array_like
        The array.
    sigma : scalar or sequence of scalars
        Per dimension of ``input``.
    output : ndarray or dtype, optional
    mode : str or sequence of str, default 'reflect'
    cval : scalar, default 0.0
    axes : int or sequence of int, optional
    **kwargs
        Passed to :func:`gaussian_filter` (``truncate``, ``radius``).

    Returns
    -------
    ndarray
        The result, of ``input``'s shape.

    See Also
    --------
    gaussian_filter, generic_gradient_magnitude
    scipy.ndimage.gaussian_gradient_magnitude : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> img = np.zeros((5, 5)); img[:, 3:] = 1
    >>> ndimage.gaussian_gradient_magnitude(img, sigma=1)[2].round(3)
    array([0.013, 0.122, 0.364, 0.363, 0.108])
    """
    input = np.asarray(input)

    def derivative(input, axis, output, mode, cval, sigma, **kwargs):
        order = [0] * input.ndim
        order[axis] = 1
        return gaussian_filter(input, sigma, order, output, mode, cval, **kwargs)

    return generic_gradient_magnitude(input, derivative, output, mode, cval,
                                      extra_arguments=(sigma,), extra_keywords=kwargs,
                                      axes=axes)


# ---------------------------------------------------------------------------
# correlate / convolve (N-D weights)
# ---------------------------------------------------------------------------
def _expand_origin(ndim, axes, origin):
    origins = _normalize_sequence(origin, len(axes))
    if len(axes) < ndim:
        full = [0] * ndim
        for o, ax in zip(origins, axes):
            full[ax] = o
        origins = full
    return origins


def _expand_footprint(ndim, axes, footprint, name="footprint"):
    if len(axes) < ndim:
        if footprint.ndim != len(axes):
            raise RuntimeError(f"{name}.ndim ({footprint.ndim}) must match len(axes) "
                               f"({len(axes)})")
        footprint = np.expand_dims(footprint, tuple(ax for ax in range(ndim) if ax not in axes))
    return footprint


def _nd_region(x, w, boundary, cval, origins, exact, out=None):
    """The N-D correlation of float array ``x`` (any ndim) with ``w`` (as many
    dims), SciPy's centre and ``origins``, on fastconv's direct kernel; into
    ``out`` (C-contiguous, ``x``'s shape and dtype) if given."""
    isa = 0 if exact else None
    starts = [k - 1 - (k // 2 + o) for k, o in zip(w.shape, origins)]
    # Axes of one tap mix no neighbours: they are a batch.
    batch = [d for d in range(x.ndim) if w.shape[d] == 1]
    spatial = [d for d in range(x.ndim) if w.shape[d] > 1]
    scale = None
    if not spatial:
        scale = float(w.reshape(-1)[0])
        spatial = [x.ndim - 1]
        batch = batch[:-1]
    order = batch + spatial
    xt = np.ascontiguousarray(np.transpose(x, order))
    wt = np.ascontiguousarray(w.reshape([w.shape[d] for d in spatial]))
    sst = [starts[d] for d in spatial]
    sshape = xt.shape[len(batch):]
    nb = math.prod(xt.shape[:len(batch)])
    xb = xt.reshape((nb,) + sshape)
    if out is None or order != sorted(order):
        out = np.empty(xt.shape, x.dtype)
    ob = out.reshape((nb,) + sshape)
    if scale is not None:
        if abs(scale) <= _EPS:      # SciPy drops weights this small: the sum is 0.0
            ob[...] = 0.0
        else:
            np.multiply(xb, scale, out=ob)
            ob += 0.0                 # 0.0 + w * x, SciPy's sum (turns -0.0 into 0.0)
    elif len(sshape) > 3:
        for b in range(nb):
            ob[b] = _nd_sum(xb[b], wt, boundary, cval, sst, isa)
    else:
        threads = _threads_for(math.prod(sshape))     # per plane
        for b in range(nb):
            _signal.correlate_region(xb[b], wt, sst, sshape, boundary, cval, "direct",
                                      out=ob[b], isa=isa, threads=threads)
    return np.transpose(out.reshape(xt.shape), np.argsort(order))


def _nd_sum(x, w, boundary, cval, starts, isa):
    """More than 3 filtered axes: the sum, over the first axis' taps, of 3-D
    (or smaller) correlations of the slices the boundary rule selects."""
    n0, k0 = x.shape[0], w.shape[0]
    imap = _signal.extend_index(np.arange(n0 + k0 - 1, dtype=np.int64) - (k0 - 1 - starts[0]),
                                 n0, boundary)
    out = np.zeros(x.shape, x.dtype)
    rest = x.shape[1:]
    for i in range(n0):
        for t in range(k0):
            m = int(imap[i + t])
            src = x[m] if m >= 0 else np.full(rest, cval, x.dtype)
            if len(rest) > 3:
                out[i] += _nd_sum(np.ascontiguousarray(src), np.ascontiguousarray(w[t]),
                                  boundary, cval, starts[1:], isa)
            else:
                out[i] += _signal.correlate_region(np.ascontiguousarray(src),
                                                    np.ascontiguousarray(w[t]), starts[1:],
                                                    rest, boundary, cval, "direct", isa=isa)
    return out


def _correlate_or_convolve(input, weights, output, mode, cval, origin, convolution, axes):
    input = np.asarray(input)
    weights = np.asarray(weights)
    if input.dtype.kind == "c" or weights.dtype.kind == "c":
        if weights.dtype.kind == "c" and not convolution:
            weights = weights.conj()       # as np.correlate: conjugate the weights
        output = _get_output(output, input, complex_output=True)
        if input.dtype.kind != "c" and np.iscomplexobj(cval) and np.imag(cval) != 0:
            raise ValueError("Cannot provide a complex-valued cval when the input is real.")
        rdt = _complex.REAL_OF[output.dtype]

        def real(xr, wr, fill):
            return _correlate_or_convolve(xr, wr, np.empty(xr.shape, rdt), mode, fill, origin,
                                          convolution, axes)

        output[...] = _complex.bilinear(real, input, weights, fill=cval)
        return output
    axes = _check_axes(axes, input.ndim)
    weights = np.asarray(weights, dtype=np.float64)
    weights = _expand_footprint(input.ndim, axes, weights, "weights")
    origins = _expand_origin(input.ndim, axes, origin)
    wshape = [ii for ii in weights.shape if ii > 0]
    if len(wshape) != input.ndim:
        raise RuntimeError(f"weights.ndim ({len(wshape)}) must match len(axes) ({len(axes)})")
    if convolution:
        weights = weights[tuple([slice(None, None, -1)] * weights.ndim)]
        for ii in range(len(origins)):
            origins[ii] = -origins[ii]
            if not weights.shape[ii] & 1:
                origins[ii] -= 1
    for o, lenw in zip(origins, wshape):
        if _invalid_origin(o, lenw):
            raise ValueError(f"Invalid origin; origin must satisfy -(weights.shape[k] // 2) <= "
                             f"origin[k] <= (weights.shape[k]-1) // 2, got origin={origins} for "
                             f"weights of shape {weights.shape}")
    output = _get_output(output, input)
    if not isinstance(mode, str) and isinstance(mode, Iterable):
        raise RuntimeError(f"A sequence of modes is not supported, got mode={mode!r}")
    boundary = _boundary(mode)
    _check_dtype(input.dtype)
    _check_dtype(output.dtype, "output")
    cval = _cval(cval)
    if input.ndim == 0:
        w = float(weights.reshape(-1)[0]) if weights.size else 0.0
        value = 0.0 + w * float(input) if abs(w) > _EPS else 0.0
        output[...] = _c_cast(np.array(value), output.dtype)
        return output
    if input.size == 0:
        return output
    flavour, cdt, cast = _plan(input, output)
    exact = flavour == _lines.F64_EXACT
    # SciPy skips weights of magnitude <= DBL_EPSILON (a zero adds nothing).
    w = np.where(np.abs(weights) > _EPS, weights, 0.0)
    x = _as_float(input, cdt)
    direct = (output.dtype == cdt and output.flags.c_contiguous
              and not np.shares_memory(output, input))
    res = _nd_region(x, np.ascontiguousarray(w, dtype=cdt), boundary, cval, origins, exact,
                     out=output if direct else None)
    return _write(output, res, input)


def correlate(input, weights, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None):
    """Multidimensional correlation, as ``scipy.ndimage.correlate``.

    ``out[i] = sum_t weights[t] * ext(input)[i + t - (shape // 2 + origin)]``
    (multi-indices), where ``ext`` extends ``input`` beyond its edges by
    ``mode``; computed on fastconv's direct filter kernel.

    Parameters
    ----------
    input : array_like
        The array.
    weights : array_like
        Weights with ``input.ndim`` dimensions (or ``len(axes)``); complex
        weights are conjugated.
    output : ndarray or dtype, optional
    mode : {'reflect', 'constant', 'nearest', 'mirror', 'wrap', 'grid-mirror', 'grid-constant', 'grid-wrap'}, default 'reflect'
        As in :func:`correlate1d` (one mode for every axis).
    cval : scalar, default 0.0
    origin : int or sequence of ints, default 0
        Per axis: ``-(k // 2) <= origin <= (k - 1) // 2``.
    axes : int or sequence of int, optional
        The axes the weights span (default: all).

    Returns
    -------
    ndarray
        The result, of ``input``'s shape.

    Raises
    ------
    RuntimeError
        For weights of the wrong dimensionality, a sequence of modes, an
        unknown mode, unsupported dtypes or a wrong ``output`` shape.
    ValueError
        For an invalid origin or bad axes.

    See Also
    --------
    convolve : The same with the weights flipped.
    fastconv.correlate : fastconv's own filter (signal modes and boundaries).
    scipy.ndimage.correlate : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> a = np.arange(25).reshape(5, 5)
    >>> ndimage.correlate(a, np.ones((3, 3)) / 9, mode="nearest")[0]
    array([2, 2, 3, 4, 5])
    >>> ndimage.correlate(a.astype(float), [[0, 1], [1, 0]], origin=(0, -1))[1]
    array([ 6.,  8., 10., 12., 13.])
    """
    return _correlate_or_convolve(input, weights, output, mode, cval, origin, False, axes)


def convolve(input, weights, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None):
    """Multidimensional convolution, as ``scipy.ndimage.convolve``.

    :func:`correlate` with the weights flipped along every axis and the origin
    mirrored (``-origin``, one less along axes of even size).

    Parameters
    ----------
    input : array_like
        The array.
    weights : array_like
        Weights with ``input.ndim`` dimensions (or ``len(axes)``); not
        conjugated.
    output : ndarray or dtype, optional
    mode : str, default 'reflect'
    cval : scalar, default 0.0
    origin : int or sequence of ints, default 0
    axes : int or sequence of int, optional

    Returns
    -------
    ndarray
        The result, of ``input``'s shape.

    Raises
    ------
    RuntimeError, ValueError
        As :func:`correlate`.

    See Also
    --------
    correlate
    scipy.ndimage.convolve : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> k = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0]])
    >>> ndimage.convolve(a, k, mode="constant", cval=0.0)
    array([[11, 10,  7,  4],
           [10,  3, 11, 11],
           [15, 12, 14,  7],
           [12,  3,  7,  0]])
    """
    return _correlate_or_convolve(input, weights, output, mode, cval, origin, True, axes)
