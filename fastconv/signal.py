"""``scipy.signal``'s convolution functions, computed by fastconv.

:func:`correlate`, :func:`convolve`, :func:`correlate2d`, :func:`convolve2d`,
:func:`fftconvolve`, :func:`oaconvolve` and :func:`choose_conv_method` take
the arguments of their ``scipy.signal`` namesakes, return the same dtypes and
shapes and raise the same exceptions, so that::

    from fastconv import signal

replaces ``from scipy import signal`` for them. The values come from
fastconv's kernels (the direct filter kernel, its two-pass form for rank-1
2-D kernels, and the FFT) through one entry point of :mod:`fastconv._signal`
(:func:`fastconv._signal.correlate_region`); complex arrays are
transformed as they are by the FFT, and composed from real computations
(:mod:`fastconv._complex`) by the other methods. Where the results differ
from SciPy's, and why, is listed in the docs' "Coming from SciPy" page:

* integer inputs are computed exactly, in the result's integer dtype with
  its wrap-around (SciPy's direct method), for every input size: products
  that float64 cannot hold exactly are split into 16-bit (or smaller) limbs;
* ``method='direct'`` also takes booleans and float16 in 2-D and N-D (SciPy
  raises ``ValueError: Unsupported type``), ``method='fft'`` rounds before
  casting to bool (SciPy casts the FFT's noise, which reads as True);
* extended precision (``longdouble``, ``clongdouble``) raises ``TypeError``:
  fastconv computes in float32 and float64;
* ``correlate2d`` in ``'valid'`` mode with the inputs swapped returns the
  correlation as defined (SciPy 1.17 returns its complex conjugate);
* ``choose_conv_method`` answers with fastconv's own cost model.
"""
import math
import numbers
import timeit
import warnings

import numpy as np

from fastconv import _complex, _signal

__all__ = ["correlate", "convolve", "correlate2d", "convolve2d", "fftconvolve", "oaconvolve",
           "choose_conv_method"]

MODES = ("full", "same", "valid")
METHODS = ("auto", "direct", "fft")
#: ``boundary=`` of correlate2d / convolve2d -> fastconv's boundary name.
BOUNDARIES_2D = {"fill": "fill", "pad": "fill", "wrap": "wrap", "circular": "wrap",
                 "symm": "symmetric", "symmetric": "symmetric"}
#: Below this bound on every partial sum, integer correlations are exact in float64.
_FLOAT64_EXACT = 2 ** 53
#: Integer inputs: 'auto' picks the FFT only below this bound on the result's
#: magnitude, where its rounding error is far below the 0.5 that rounding to
#: the nearest integer absorbs.
_FFT_INT_LIMIT = 2 ** 40
_MODE_ERROR = "Acceptable mode flags are 'valid', 'same', or 'full'."
_METHOD_ERROR = "Acceptable method flags are 'auto', 'direct', or 'fft'."


# ---------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------
def _array(value, name):
    """``value`` as an array of a dtype fastconv computes (or TypeError)."""
    arr = np.asarray(value)
    kind = arr.dtype.kind
    if kind not in "biufc":
        raise TypeError(f"{name} has dtype {arr.dtype}: fastconv.signal takes boolean, "
                        f"integer, float and complex arrays")
    if (kind == "f" and arr.dtype.itemsize > 8) or (kind == "c" and arr.dtype.itemsize > 16):
        raise TypeError(f"{name} has dtype {arr.dtype}: extended precision is not supported "
                        f"(fastconv computes in float32 and float64)")
    return arr


def _check_mode(mode):
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(_MODE_ERROR)


def _swap_needed(mode, shape1, shape2, axes=None):
    """SciPy's rule: in 'valid' mode the first input must be the larger one."""
    if mode != "valid" or not shape1:
        return False
    axes = range(len(shape1)) if axes is None else axes
    ok1 = all(shape1[i] >= shape2[i] for i in axes)
    ok2 = all(shape2[i] >= shape1[i] for i in axes)
    if not (ok1 or ok2):
        raise ValueError("For 'valid' mode, one must be at least as large as the other in "
                         "every dimension")
    return not ok1


def _region(n1, n2, mode):
    """``(start, size)`` of the part of the full result that ``mode`` keeps."""
    return _signal.region(n1, n2, mode)


def _compute_dtype(dtype):
    """The float (or complex) dtype a result of ``dtype`` is computed in."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        return dtype
    if dtype.kind == "f" and dtype.itemsize <= 4:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


# ---------------------------------------------------------------------------
# Real correlation of a region, any ndim
# ---------------------------------------------------------------------------
def _squeezable(x, w):
    return tuple(d for d in range(x.ndim) if x.shape[d] == 1 and w.shape[d] == 1)


def _region_correlate(x, w, starts, sizes, algorithm, boundary="fill", fill=0.0):
    """Positions ``[start, start + size)`` of the full correlation of real ``x`` with ``w``.

    ``x``, ``w``: float arrays of one dtype and ndim. Axes where both have
    one element are dropped; 1-D to 3-D problems (and any FFT) go to
    :func:`fastconv._signal.correlate_region`; larger direct problems are
    sums of 3-D ones along their first axis.
    """
    drop = _squeezable(x, w)
    if drop:
        keep = [d for d in range(x.ndim) if d not in drop]
        xs = np.asarray(x.reshape([x.shape[d] for d in keep]), order="C")
        ws = np.asarray(w.reshape([w.shape[d] for d in keep]), order="C")
        res = _region_correlate(xs, ws, [starts[d] for d in keep], [sizes[d] for d in keep],
                                algorithm, boundary, fill)
        return res.reshape(sizes)
    if x.ndim == 0:
        return np.asarray(x * w)
    x, w = np.ascontiguousarray(x), np.ascontiguousarray(w)
    if x.ndim <= 3:
        return _signal.correlate_region(x, w, starts, sizes, boundary, fill, algorithm)
    if algorithm == "auto":
        costs = _signal.algorithm_costs(x, w, sizes)
        algorithm = "fft" if costs["fft"] < costs["direct"] else "direct"
    if algorithm == "fft":
        return _signal.correlate_region(x, w, starts, sizes, boundary, fill, "fft")
    # Direct, more than 3 dims (zero fill): a sum over the first axis' taps.
    out = np.zeros(sizes, np.result_type(x, w))
    k0, n0 = w.shape[0], x.shape[0]
    for i in range(sizes[0]):
        for t in range(k0):
            src = starts[0] + i + t - (k0 - 1)
            if 0 <= src < n0:
                out[i] += _region_correlate(x[src], w[t], starts[1:], sizes[1:], "direct")
    return out


# ---------------------------------------------------------------------------
# Exact integer correlation
# ---------------------------------------------------------------------------
def _max_abs(a):
    if a.size == 0:
        return 0
    return max(abs(int(a.max())), abs(int(a.min())))


def _sum_bound(a, b):
    """A bound on every partial sum of the correlation of integer arrays ``a`` and ``b``."""
    overlap = math.prod(min(n1, n2) for n1, n2 in zip(a.shape, b.shape)) if a.ndim else 1
    return _max_abs(a) * _max_abs(b) * overlap


def _wrap(values, dtype):
    """Exact integer-valued float64 ``values`` in integer ``dtype``, modulo 2**bits."""
    if dtype == np.bool_:
        return values > 0.5
    return values.astype(np.int64).astype(dtype)


def _integer_correlate(a, b, starts, sizes, dtype, boundary="fill", fill=0):
    """The exact correlation of integer (or bool) ``a`` and ``b`` in integer ``dtype``.

    Computed in float64, which is exact while every partial sum stays below
    2**53; beyond that the two's complement values are split into limbs of
    ``lb`` bits, small enough that limb products summed over the overlap stay
    exact, and the limb correlations are recombined modulo 2**64 (the result
    wraps around as integer arithmetic in ``dtype`` does).
    """
    dtype = np.dtype(dtype)
    fill = int(fill)
    bound = max(_sum_bound(a, b), abs(fill) * _max_abs(b) * max(b.size, 1))
    if bound < _FLOAT64_EXACT or dtype == np.bool_:
        res = _region_correlate(a.astype(np.float64), b.astype(np.float64), starts, sizes,
                                "direct", boundary, float(fill))
        return _wrap(res, dtype)
    overlap = max(math.prod(min(n1, n2) for n1, n2 in zip(a.shape, b.shape)), 1)
    if boundary != "fill" or fill:
        overlap = max(overlap, b.size)
    lb = max(1, min(16, (52 - overlap.bit_length()) // 2))
    bits = dtype.itemsize * 8
    nlimb = -(-bits // lb)
    mask = np.uint64((1 << lb) - 1)
    ua = a.astype(dtype).astype(np.uint64)
    ub = b.astype(dtype).astype(np.uint64)
    ufill = np.array(fill).astype(dtype).astype(np.uint64)
    la = [((ua >> np.uint64(lb * i)) & mask).astype(np.float64) for i in range(nlimb)]
    lw = [((ub >> np.uint64(lb * i)) & mask).astype(np.float64) for i in range(nlimb)]
    lf = [float((ufill >> np.uint64(lb * i)) & mask) for i in range(nlimb)]
    acc = np.zeros(sizes, np.uint64)
    for s in range(nlimb):
        for i in range(s + 1):
            part = _region_correlate(la[i], lw[s - i], starts, sizes, "direct", boundary,
                                     lf[i])
            acc += part.astype(np.uint64) << np.uint64(lb * s)
    return acc.astype(dtype)


# ---------------------------------------------------------------------------
# The shared computation
# ---------------------------------------------------------------------------
def _correlate(a, b, starts, sizes, method, dtype, *, boundary="fill", fill=0):
    """The region ``starts``/``sizes`` of ``correlate(a, b)`` (weights NOT
    conjugated here), as ``dtype`` (SciPy's result dtype)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        if method == "fft":
            res = _region_correlate(a.astype(np.float64), b.astype(np.float64), starts, sizes,
                                    "fft")
            res = np.round(res)
            return res > 0.5 if dtype == np.bool_ else res.astype(dtype)
        return _integer_correlate(a, b, starts, sizes, dtype, boundary, fill)
    cdt = _compute_dtype(dtype)
    rdt = _complex.REAL_OF.get(cdt, cdt)
    a = a.astype(cdt if np.iscomplexobj(a) else rdt, copy=False)
    b = b.astype(cdt if np.iscomplexobj(b) else rdt, copy=False)
    fill = fill if boundary == "fill" else 0.0
    if cdt.kind != "c" or np.imag(fill) == 0:
        fill = float(np.real(fill))
    else:
        fill = complex(fill)        # extends the real and imaginary parts of a
    # Complex arrays go as they are: the FFT transforms them, the other
    # algorithms compose them of real correlations (_signal.correlate_region).
    res = _region_correlate(a, b, starts, sizes, method, boundary, fill)
    return res.astype(dtype, copy=False)


def _scalar_product(a, b, conj):
    if conj and np.iscomplexobj(b):
        b = np.conj(b)
    return a * b


def _full_regions(s1, s2, mode):
    return zip(*(_region(n1, n2, mode) for n1, n2 in zip(s1, s2)))


def _fft_warning(out, method):
    if method == "fft" and out.size and not np.isfinite(out.flat[0]):
        warnings.warn("Use of fft convolution on input with NAN or inf results in NAN or "
                      "inf output. Consider using method='direct' instead.",
                      category=RuntimeWarning, stacklevel=3)


# ---------------------------------------------------------------------------
# correlate / convolve
# ---------------------------------------------------------------------------
def correlate(in1, in2, mode="full", method="auto"):
    """Cross-correlate two N-dimensional arrays, as ``scipy.signal.correlate``.

    ``z[k] = sum_l in1[l] * conj(in2[l - k + N2 - 1])`` over the full range
    ``0 <= k < N1 + N2 - 1`` (multi-indices), cut by ``mode``.

    Parameters
    ----------
    in1 : array_like
        First input, any number of dimensions (0-d: a scalar product).
    in2 : array_like
        Second input, with as many dimensions as ``in1``.
    mode : {'full', 'valid', 'same'}, default 'full'
        'full': the whole result; 'valid': the outputs that need no zero
        padding (one input must be at least as large as the other in every
        dimension; the inputs are swapped if ``in2`` is the larger); 'same':
        the centre of 'full', of ``in1``'s size.
    method : {'auto', 'direct', 'fft'}, default 'auto'
        'direct' sums the products (fastconv's direct filter kernel), 'fft'
        uses the convolution theorem, 'auto' picks the faster one by
        fastconv's cost model (:func:`choose_conv_method`).

    Returns
    -------
    ndarray
        Of dtype ``np.result_type(in1, in2)``. Integer results are exact, with
        the wrap-around of integer arithmetic in that dtype.

    Raises
    ------
    ValueError
        For an unknown mode or method, inputs of different dimensionality, an
        empty input, or shapes with no 'valid' part.
    TypeError
        For non-numeric or extended-precision inputs.

    See Also
    --------
    convolve : The same without conjugating and with ``in2`` flipped.
    fastconv.correlate : fastconv's own correlation (boundaries, channels).
    scipy.signal.correlate : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> signal.correlate([1, 2, 3], [0, 1, 0.5])
    array([0.5, 2. , 3.5, 3. , 0. ])
    >>> signal.correlate(np.array([1, 2, 3], np.int8), np.array([1, 1], np.int8), "valid")
    array([3, 5], dtype=int8)
    >>> signal.correlate([1j, 2], [1j], mode="same")
    array([1.+0.j, 0.-2.j])
    """
    a, b = _array(in1, "in1"), _array(in2, "in2")
    if a.ndim == b.ndim == 0:
        return _scalar_product(a, b, True)
    if a.ndim != b.ndim:
        raise ValueError("in1 and in2 should have the same dimensionality")
    _check_mode(mode)
    if method not in METHODS:
        raise ValueError(_METHOD_ERROR)
    return _correlate_or_convolve(a, b, mode, method, convolve=False)


def convolve(in1, in2, mode="full", method="auto"):
    """Convolve two N-dimensional arrays, as ``scipy.signal.convolve``.

    ``z[k] = sum_l in1[l] * in2[k - l]`` over the full range
    ``0 <= k < N1 + N2 - 1`` (multi-indices), cut by ``mode``.

    Parameters
    ----------
    in1 : array_like
        First input, any number of dimensions (0-d: a scalar product).
    in2 : array_like
        Second input, with as many dimensions as ``in1``.
    mode : {'full', 'valid', 'same'}, default 'full'
        As in :func:`correlate`.
    method : {'auto', 'direct', 'fft'}, default 'auto'
        As in :func:`correlate`.

    Returns
    -------
    ndarray
        Of dtype ``np.result_type(in1, in2)``; integer results are exact.

    Raises
    ------
    ValueError
        For an unknown mode or method, inputs of different dimensionality, an
        empty input, or shapes with no 'valid' part.
    TypeError
        For non-numeric or extended-precision inputs.

    See Also
    --------
    correlate : The same with ``in2`` conjugated and not flipped.
    fftconvolve : Always by FFT, along chosen axes.
    scipy.signal.convolve : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> signal.convolve([3, 4, 5, 6, 5, 4], [1, 2, 3])
    array([ 3, 10, 22, 28, 32, 32, 23, 12])
    >>> img = np.arange(25.0).reshape(5, 5)
    >>> signal.convolve(img, np.ones((3, 3)) / 9, mode="valid")
    array([[ 6.,  7.,  8.],
           [11., 12., 13.],
           [16., 17., 18.]])
    """
    a, b = _array(in1, "in1"), _array(in2, "in2")
    if a.ndim == b.ndim == 0:
        return _scalar_product(a, b, False)
    if a.ndim != b.ndim:
        raise ValueError("volume and kernel should have the same dimensionality")
    _check_mode(mode)
    if _swap_needed(mode, a.shape, b.shape):
        a, b = b, a                      # commutative: the order does not matter
    if method not in METHODS:
        raise ValueError(_METHOD_ERROR)
    return _correlate_or_convolve(a, b, mode, method, convolve=True)


def _correlate_or_convolve(a, b, mode, method, convolve):
    if a.size == 0 or b.size == 0:
        raise ValueError(f"in1 and in2 must not be empty, got shapes {a.shape} and {b.shape}")
    _swap_needed(mode, a.shape, b.shape)          # the 'valid' shape check
    dtype = np.result_type(a, b)
    chosen = choose_conv_method(a, b, mode) if method == "auto" else method
    if method == "auto" and dtype.kind in "fc":
        chosen_here = "auto"          # fastconv's rule, with its two-pass rank-1 form
    else:
        chosen_here = chosen
    if convolve:
        b = b[(slice(None, None, -1),) * b.ndim]
    elif b.dtype.kind == "c":
        b = np.conj(b)
    starts, sizes = _full_regions(a.shape, b.shape, mode)
    out = _correlate(a, b, starts, sizes, chosen_here, dtype)
    _fft_warning(out, chosen)
    return out


# ---------------------------------------------------------------------------
# correlate2d / convolve2d
# ---------------------------------------------------------------------------
def _fillvalue(fillvalue, dtype):
    """``fillvalue`` converted to ``dtype`` with SciPy's rules (and messages)."""
    if isinstance(fillvalue, np.ndarray):
        ok = np.can_cast(fillvalue.dtype, dtype, "safe")
        value = fillvalue.astype(dtype) if ok else None
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)
                value = np.array(fillvalue, dtype=dtype)
            if dtype.kind in "iub" and not np.isfinite(np.array(fillvalue, dtype=np.complex128)).all():
                value = None
        except (TypeError, ValueError, OverflowError, RuntimeWarning):
            value = None
    if value is None:
        np.array(fillvalue, dtype=np.complex128)    # SciPy's own error for a non-number
        raise ValueError("could not cast `fillvalue` directly to the output type (it was "
                         "first converted to complex).")
    if value.size != 1:
        if value.size == 0:
            raise ValueError("`fillvalue` cannot be an empty array.")
        raise ValueError("`fillvalue` must be scalar or an array with one element.")
    return value.reshape(()).item()


def _2d(in1, in2, mode, boundary, fillvalue, name, convolve):
    a, b = _array(in1, "in1"), _array(in2, "in2")
    if not a.ndim == b.ndim == 2:
        raise ValueError(f"{name} inputs must both be 2-D arrays")
    swapped = _swap_needed(mode, a.shape, b.shape)
    if swapped:
        a, b = b, a
    _check_mode(mode)
    if boundary == "reflect":
        raise ValueError("Incorrect boundary value.")
    if not isinstance(boundary, str) or boundary not in BOUNDARIES_2D:
        raise ValueError("Acceptable boundary flags are 'fill', 'circular' (or 'wrap'), and "
                         "'symmetric' (or 'symm').")
    bnd = BOUNDARIES_2D[boundary]
    dtype = np.result_type(a, b)
    fill = _fillvalue(fillvalue, dtype) if bnd == "fill" else 0
    if a.size == 0 or b.size == 0:
        raise ValueError(f"in1 and in2 must not be empty, got shapes {a.shape} and {b.shape}")
    if mode == "valid":
        bnd, fill = "fill", 0
    if convolve:
        b = b[::-1, ::-1]
        starts, sizes = _full_regions(a.shape, b.shape, mode)
    else:
        if b.dtype.kind == "c":
            b = np.conj(b)
        if swapped:
            # The correlation as defined, in1 against conj(in2) (larger here); SciPy
            # correlates the swapped pair and reverses the result without
            # conjugating it.
            a, b = np.conj(b), np.conj(a) if np.iscomplexobj(a) else a
        starts, sizes = _full_regions(a.shape, b.shape, mode)
        if mode == "same":
            # correlate2d centres 'same' on element N2 // 2 (scipy.signal.correlate
            # on (N2 - 1) // 2): it is convolve2d with the kernel reversed.
            starts = tuple(n2 // 2 for n2 in b.shape)
    return _correlate(a, b, starts, sizes, "direct", dtype, boundary=bnd, fill=fill)


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """Cross-correlate two 2-D arrays, as ``scipy.signal.correlate2d``.

    Parameters
    ----------
    in1 : array_like
        First input, 2-D.
    in2 : array_like
        Second input, 2-D.
    mode : {'full', 'valid', 'same'}, default 'full'
        As in :func:`correlate`, but 'same' is centred as
        ``scipy.signal.correlate2d`` centres it: on element ``N2 // 2`` of
        ``in2`` (one later than :func:`correlate` for even sizes).
    boundary : {'fill', 'wrap', 'symm'}, default 'fill'
        How ``in1`` is extended: 'fill' (alias 'pad') with ``fillvalue``;
        'wrap' (alias 'circular') periodically; 'symm' (alias 'symmetric')
        by reflection, the edge sample repeated. The extension repeats as far
        as ``in2`` reaches.
    fillvalue : scalar, default 0
        The value beyond the edges for 'fill', converted to the result's dtype
        by SciPy's rules.

    Returns
    -------
    ndarray
        Of dtype ``np.result_type(in1, in2)``.

    Raises
    ------
    ValueError
        For inputs that are not 2-D, an unknown mode or boundary, a
        ``fillvalue`` the result's dtype cannot hold, or shapes with no 'valid'
        part.

    See Also
    --------
    convolve2d : The same with ``in2`` flipped and not conjugated.
    scipy.signal.correlate2d : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> a = np.array([[1, 2, 3], [3, 4, 5]])
    >>> signal.correlate2d(a, [[1, 1]], boundary="symm", mode="same")
    array([[ 3,  5,  6],
           [ 7,  9, 10]])
    """
    return _2d(in1, in2, mode, boundary, fillvalue, "correlate2d", False)


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """Convolve two 2-D arrays, as ``scipy.signal.convolve2d``.

    Parameters
    ----------
    in1 : array_like
        First input, 2-D.
    in2 : array_like
        Second input, 2-D.
    mode : {'full', 'valid', 'same'}, default 'full'
        As in :func:`convolve`.
    boundary : {'fill', 'wrap', 'symm'}, default 'fill'
        As in :func:`correlate2d`.
    fillvalue : scalar, default 0
        The value beyond the edges for 'fill'.

    Returns
    -------
    ndarray
        Of dtype ``np.result_type(in1, in2)``.

    Raises
    ------
    ValueError
        For inputs that are not 2-D, an unknown mode or boundary, a
        ``fillvalue`` the result's dtype cannot hold, or shapes with no 'valid'
        part.

    See Also
    --------
    correlate2d : The same without flipping, with ``in2`` conjugated.
    scipy.signal.convolve2d : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> a = np.array([[1, 2, 3], [3, 4, 5]])
    >>> signal.convolve2d(a, [[2, 3, 4], [4, 5, 6]])
    array([[ 2,  7, 16, 17, 12],
           [10, 30, 62, 58, 38],
           [12, 31, 58, 49, 30]])
    >>> signal.convolve2d(a, [[1, 1], [1, 1]], mode="same", boundary="wrap")
    array([[12, 10, 14],
           [12, 10, 14]])
    """
    return _2d(in1, in2, mode, boundary, fillvalue, "convolve2d", True)


# ---------------------------------------------------------------------------
# fftconvolve / oaconvolve
# ---------------------------------------------------------------------------
def _freq_axes(a, b, mode, axes):
    """SciPy's checks of ``axes`` for the FFT convolutions; the inputs swapped
    for 'valid' mode and the axes that need a transform."""
    noaxes = axes is None
    if noaxes:
        axes = list(range(a.ndim))
    else:
        if np.isscalar(axes) or isinstance(axes, numbers.Integral):
            axes = [axes]
        try:
            axes = [int(ax) if isinstance(ax, numbers.Integral) else ax for ax in axes]
        except TypeError:
            raise ValueError("axes must be a scalar or iterable of integers") from None
        if not all(isinstance(ax, int) for ax in axes):
            raise ValueError("axes must be a scalar or iterable of integers")
        if not axes:
            raise ValueError("when provided, axes cannot be empty")
        if any(ax >= a.ndim or ax < -a.ndim for ax in axes):
            raise ValueError("axes exceeds dimensionality of input")
        axes = [ax % a.ndim for ax in axes]
        if len(set(axes)) != len(axes):
            raise ValueError("all axes must be unique")
    s1, s2 = a.shape, b.shape
    axes = sorted(ax for ax in axes if s1[ax] != 1 and s2[ax] != 1)
    if not all(s1[d] == s2[d] or s1[d] == 1 or s2[d] == 1
               for d in range(a.ndim) if d not in axes):
        raise ValueError(f"incompatible shapes for in1 and in2: {s1} and {s2}")
    if _swap_needed(mode, s1, s2, axes):
        a, b = b, a
    return a, b, axes


def _fft_dtype(a, b):
    """The dtype of SciPy's FFT convolution of ``a`` and ``b``: integers and
    booleans as float64, float16 as float32."""
    def promote(dt):
        if dt.kind in "biu":
            return np.dtype(np.float64)
        if dt.kind == "f" and dt.itemsize < 4:
            return np.dtype(np.float32)
        return dt
    return np.result_type(promote(a.dtype), promote(b.dtype))


def _fft_convolve(in1, in2, mode, axes, name):
    a, b = _array(in1, "in1"), _array(in2, "in2")
    if a.ndim == b.ndim == 0:
        return a * b
    if a.ndim != b.ndim:
        raise ValueError("in1 and in2 should have the same dimensionality")
    if a.size == 0 or b.size == 0:
        return np.asarray([])
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError("acceptable mode flags are 'valid', 'same', or 'full'")
    a, b, axes = _freq_axes(a, b, mode, axes)
    dtype = _fft_dtype(a, b)
    s1, s2 = a.shape, b.shape
    if not axes:                 # only axes of length 1: a broadcast product (SciPy's dtype)
        return _apply_mode(a * b, s1, s2, mode, axes)
    batch = [d for d in range(a.ndim) if d not in axes]
    if all(s1[d] == s2[d] == 1 for d in batch):
        # No broadcasting: the problem over its transform axes, through fastconv's
        # FFT algorithm (with overlap-save blocks for long 1-D signals).
        xs = a.reshape([s1[d] for d in axes])
        ws = b.reshape([s2[d] for d in axes])[(slice(None, None, -1),) * len(axes)]
        starts, sizes = _full_regions(xs.shape, ws.shape, "full")
        res = _correlate(xs, ws, starts, sizes, "fft", dtype)
        full = res.reshape([s1[d] + s2[d] - 1 if d in axes else 1 for d in range(a.ndim)])
        return _apply_mode(full, s1, s2, mode, axes)
    # Broadcast batch axes: one batched transform over the axes.
    fft, upcast = _signal.fft_backend()
    complex_result = dtype.kind == "c"
    shape = [s1[d] + s2[d] - 1 for d in axes]
    fshape = [_signal.next_fast_len(n) for n in shape]
    work = dtype if not upcast else (np.complex128 if complex_result else np.float64)
    xa, wa = a.astype(work, copy=False), b.astype(work, copy=False)
    if complex_result:
        spec = fft.fftn(xa, fshape, axes=axes) * fft.fftn(wa, fshape, axes=axes)
        full = fft.ifftn(spec, fshape, axes=axes)
    else:
        spec = fft.rfftn(xa, fshape, axes=axes) * fft.rfftn(wa, fshape, axes=axes)
        full = fft.irfftn(spec, fshape, axes=axes)
    full = full[tuple(slice(0, shape[axes.index(d)]) if d in axes else slice(None)
                      for d in range(a.ndim))]
    return _apply_mode(full, s1, s2, mode, axes).astype(dtype, copy=False)


def _apply_mode(full, s1, s2, mode, axes):
    if mode == "full":
        return np.array(full)
    if mode == "same":
        target = [s1[d] if d in axes else full.shape[d] for d in range(full.ndim)]
    else:
        target = [s1[d] - s2[d] + 1 if d in axes else full.shape[d] for d in range(full.ndim)]
    start = [(n - m) // 2 for n, m in zip(full.shape, target)]
    return np.array(full[tuple(slice(s, s + m) for s, m in zip(start, target))])


def fftconvolve(in1, in2, mode="full", axes=None):
    """Convolve two N-dimensional arrays by FFT, as ``scipy.signal.fftconvolve``.

    Parameters
    ----------
    in1 : array_like
        First input.
    in2 : array_like
        Second input, with as many dimensions as ``in1``.
    mode : {'full', 'valid', 'same'}, default 'full'
        As in :func:`convolve`, along ``axes``.
    axes : int or sequence of int, optional
        The axes to convolve along (default: all). Along the other axes the
        inputs must have the same size, or size 1 (broadcast).

    Returns
    -------
    ndarray
        Float64 for integer and boolean inputs, float32 for float16 and
        float32 inputs, complex when either input is complex (SciPy's FFT
        dtypes); an empty float64 array when an input is empty.

    Raises
    ------
    ValueError
        For an unknown mode, inputs of different dimensionality, bad ``axes``
        or shapes that do not broadcast.

    See Also
    --------
    oaconvolve : The same values.
    convolve : Chooses between the direct sum and the FFT.
    scipy.signal.fftconvolve : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> signal.fftconvolve([1, 2, 3], [1, 1])
    array([1., 3., 5., 3.])
    >>> x = np.ones((4, 6))
    >>> signal.fftconvolve(x, np.ones((1, 3)), mode="same", axes=1)[0]
    array([2., 3., 3., 3., 3., 2.])
    """
    return _fft_convolve(in1, in2, mode, axes, "fftconvolve")


def oaconvolve(in1, in2, mode="full", axes=None):
    """Convolve two N-dimensional arrays by FFT, as ``scipy.signal.oaconvolve``.

    The same arguments, values and dtypes as :func:`fftconvolve`. SciPy cuts
    the larger input into overlap-add blocks; fastconv's FFT algorithm cuts a
    long 1-D signal into overlap-save blocks (with a kernel much shorter than
    the signal) and transforms other problems whole.

    Parameters
    ----------
    in1 : array_like
        First input.
    in2 : array_like
        Second input, with as many dimensions as ``in1``.
    mode : {'full', 'valid', 'same'}, default 'full'
        As in :func:`convolve`, along ``axes``.
    axes : int or sequence of int, optional
        The axes to convolve along (default: all).

    Returns
    -------
    ndarray
        As :func:`fftconvolve`.

    Raises
    ------
    ValueError
        As :func:`fftconvolve`.

    See Also
    --------
    fftconvolve : The same values.
    scipy.signal.oaconvolve : The function this one mirrors.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> sig = np.random.default_rng(0).standard_normal(100_000)
    >>> y = signal.oaconvolve(sig, np.hanning(64), mode="same")
    >>> bool(np.allclose(y, np.convolve(sig, np.hanning(64), mode="same")))
    True
    """
    return _fft_convolve(in1, in2, mode, axes, "oaconvolve")


# ---------------------------------------------------------------------------
# choose_conv_method
# ---------------------------------------------------------------------------
def _time(fn, repeat=3):
    """Seconds per call of ``fn``: the best of ``repeat`` timings of at least 5 ms."""
    timer = timeit.Timer(fn)
    number = 1
    for p in range(10):
        number = 10 ** p
        if timer.timeit(number) >= 5e-4:
            break
    number *= 10
    return min(timer.repeat(repeat, number)) / number


def choose_conv_method(in1, in2, mode="full", measure=False):
    """The method :func:`convolve` and :func:`correlate` use for ``method='auto'``.

    Parameters
    ----------
    in1 : array_like
        First input.
    in2 : array_like
        Second input.
    mode : {'full', 'valid', 'same'}, default 'full'
    measure : bool, default False
        Time both methods and return the faster one, with the timings.

    Returns
    -------
    method : {'direct', 'fft'}
        fastconv's choice: 'direct' for boolean inputs and for integers whose
        result could exceed 2**40 (where rounding the FFT's result could miss),
        otherwise the cheaper one by fastconv's cost model (the one
        ``fastconv.correlate(algorithm='auto')`` applies; its two-pass form
        for rank-1 kernels counts as 'direct').
    times : dict, optional
        With ``measure=True``: seconds per call of each method.

    Raises
    ------
    ValueError
        For an unknown mode.

    See Also
    --------
    scipy.signal.choose_conv_method : The function this one mirrors (with
        SciPy's own cost model).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> signal.choose_conv_method(np.ones(100), np.ones(5))
    'direct'
    >>> signal.choose_conv_method(np.ones(100_000), np.ones(5_000))
    'fft'
    """
    a, b = np.asarray(in1), np.asarray(in2)
    if measure:
        times = {m: _time(lambda m=m: convolve(a, b, mode=mode, method=m))
                 for m in ("fft", "direct")}
        return ("fft" if times["fft"] < times["direct"] else "direct"), times
    _check_mode(mode)
    if a.ndim != b.ndim or a.ndim == 0 or a.size == 0 or b.size == 0:
        return "direct"
    if any(d.kind not in "biufc" or (d.kind in "fc" and d.itemsize > 8 * (1 + (d.kind == "c")))
           for d in (a.dtype, b.dtype)):
        return "direct"           # no FFT keeps extended precision (nor can fastconv)
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        # An integer (or boolean) result: exact by the direct sum; by FFT only
        # where rounding the result is certain to recover it.
        if np.result_type(a, b) == np.bool_ or _sum_bound(a, b) >= _FFT_INT_LIMIT:
            return "direct"
    if math.prod(b.shape) > math.prod(a.shape):
        a, b = b, a
    sizes = tuple(_region(n1, n2, mode)[1] for n1, n2 in zip(a.shape, b.shape))
    cdt = _compute_dtype(np.result_type(a, b))
    rdt = _complex.REAL_OF.get(cdt, cdt)
    probe, kernel = (np.broadcast_to(np.zeros((), cdt if np.iscomplexobj(v) else rdt), v.shape)
                     for v in (a, b))
    costs = _signal.algorithm_costs(probe, kernel, sizes)   # complex: their complex costs
    return "fft" if costs["fft"] < min(v for k, v in costs.items() if k != "fft") else "direct"
