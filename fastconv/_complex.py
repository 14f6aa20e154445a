"""Complex convolutions composed from real ones.

A correlation (or convolution, or any operation ``P(x, w)`` that is linear in
its input and in its weights) of complex arrays is a combination of real
ones: with ``x = xr + i xi`` and ``w = wr + i wi``,

    P(x, w) = P(xr, wr) - P(xi, wi) + i (P(xr, wi) + P(xi, wr))

(four real products). Gauss's three-product form computes the same value as

    k1 = P(xr, wr), k2 = P(xi, wi), k3 = P(xr + xi, wr + wi),
    P(x, w) = (k1 - k2) + i (k3 - k1 - k2)

at the price of a larger rounding error in the imaginary part (it is the
difference of terms about twice as large as the result) and of two extra
additions over the inputs. :data:`PRODUCTS` says which form each convention
uses; see its comment for the measurement behind the choice. When only one side is
complex, two real products suffice and both forms coincide.

Nothing here knows what ``P`` computes: every caller passes its real
pipeline (a public function, or a ``_signal`` / ``_dispatch`` entry point)
as a function, so every algorithm of the real pipeline (direct, im2col,
Winograd, FFT) serves complex arrays unchanged.

Conjugation is the caller's: SciPy's correlations conjugate the weights,
PyTorch's convolutions do not (and their gradients conjugate the other
factor, PyTorch's Wirtinger convention). :func:`compose` is what the public
functions call: it validates the dtypes, promotes as NumPy does (complex64
with float64 is complex128), adds a complex bias and writes ``out``.
"""
import numbers

import numpy as np

from fastconv._args import as_array, check_out, compute_dtype

#: Real products per complex product, per convention: 4 (the definition) or
#: 3 (Gauss). Measured on the development machine (2-core AMD EPYC, AVX2,
#: 1 thread, shared and noisy: load 2.6-4.2; interleaved, minimum of 11-15
#: runs), errors as max|error| / max|result| against a clongdouble oracle:
#:
#: * 3 products take 0.68-0.90x the time of 4 on every row: conv2d
#:   (1, 32, 56, 56) * (32, 32, 3, 3) im2col 0.77x (complex64) / 0.80x
#:   (complex128), Winograd 0.82x / 0.77x, direct (16 channels, 64 x 64)
#:   0.78x / 0.77x, auto (8, 3, 64, 64) * (16, 3, 5, 5) 0.82x / 0.84x;
#:   correlate 512 x 512 * 7 x 7 direct 0.82x / 0.90x, * 3 x 3 Winograd
#:   0.68x / 0.74x, * 31 x 31 FFT 0.75x / 0.73x, 4096 * 63 auto 0.89x / 0.84x;
#:   with 32 channels 3 x 3 on 56 x 56: conv_transpose2d (stride 2) 0.77x /
#:   0.81x, grad.conv2d_input 0.85x / 0.82x, grad.conv2d_weight 0.79x / 0.81x.
#: * The real part is the same bits; the imaginary part's error is 1.5-2.1x
#:   larger with 3 (complex64 conv2d 4.4e-7 against 2.4e-7, correlate
#:   4.6e-7 against 2.3e-7; complex128 5.6e-16 against 3.4e-16).
#: * The peers: PyTorch's complex conv2d is itself Gauss's form (3 real
#:   convolutions), with a larger error than fastconv's 3 (complex64
#:   imaginary part 1.1e-6, complex128 1.4e-15); SciPy's complex correlate
#:   multiplies complex numbers as defined, with 4's error (2.1e-7
#:   complex64, 4.4e-16 complex128).
#:
#: So each convention takes the faster form that is as accurate as its peer:
#: 3 for PyTorch's (the convolutions, transposed convolutions and their
#: gradients: faster and no less accurate than PyTorch), 4 for SciPy's
#: (``correlate``/``convolve``, ``fastconv.signal``, ``fastconv.ndimage``:
#: 3 would be faster but up to twice SciPy's error in the imaginary part).
PRODUCTS = {"pytorch": 3, "scipy": 4}

#: The real dtype of each complex dtype.
REAL_OF = {np.dtype(np.complex64): np.dtype(np.float32),
           np.dtype(np.complex128): np.dtype(np.float64)}


def is_complex(*arrays):
    """Whether any of ``arrays`` (array_like, or None for an absent one) is complex."""
    for a in arrays:
        if a is None:
            continue
        if type(a) is np.ndarray:      # the common case, checked without a call
            if a.dtype.kind == "c":
                return True
        elif np.iscomplexobj(a):
            return True
    return False


def as_any_array(value, name):
    """``value`` as an array: a complex64/complex128 one as it is, anything
    else through :func:`fastconv._args.as_array` (TypeError, naming ``name``,
    for a dtype fastconv cannot compute in, extended-precision complex too)."""
    arr = np.asarray(value)
    if arr.dtype.kind != "c":
        return as_array(arr, name)
    if arr.dtype.newbyteorder("=") not in REAL_OF:
        raise TypeError(f"{name} has dtype {arr.dtype}: extended precision is not supported "
                        f"(fastconv computes complex arrays in complex64 or complex128)")
    return arr.astype(arr.dtype.newbyteorder("="), copy=False)


def result_dtype(*arrays):
    """The complex dtype of a product of ``arrays`` (None entries skipped):
    the complex dtype of the real computation dtype of their parts, so
    complex64 with float64 is complex128 and integers compute in complex128."""
    reals = [REAL_OF.get(a.dtype, a.dtype) for a in arrays if a is not None]
    return complex_dtype(compute_dtype(*reals))


def whole_dtype(*arrays):
    """The dtype of an operation on ``arrays`` (None entries skipped): their
    :func:`fastconv._args.compute_dtype` when all are real, else their
    :func:`result_dtype`."""
    arrays = [a for a in arrays if a is not None]
    return result_dtype(*arrays) if is_complex(*arrays) else compute_dtype(*arrays)


def part_dtype(a, dtype):
    """The dtype ``a`` is computed in within an operation of dtype ``dtype``
    (:func:`whole_dtype`): ``dtype`` itself for a complex ``a``, its real
    dtype for a real one (a real factor stays real: two real products, not
    three)."""
    return dtype if a.dtype.kind == "c" else REAL_OF.get(dtype, dtype)


def complex_dtype(real_dtype):
    """The complex dtype whose parts are ``real_dtype`` (float32 or float64)."""
    real_dtype = np.dtype(real_dtype).newbyteorder("=")
    return np.dtype(np.complex64) if real_dtype == np.float32 else np.dtype(
        np.complex128)


def parts(a):
    """``(real, imag)`` of ``a`` as C-contiguous arrays (``imag`` is None when ``a`` is real)."""
    if np.iscomplexobj(a):
        return np.ascontiguousarray(a.real), np.ascontiguousarray(a.imag)
    return a, None


def bilinear(product, x, w, *, conj_w=False, fill=0.0, products=None):
    """``product`` of complex (or real) ``x`` and ``w``, from real products.

    Parameters
    ----------
    product : callable
        ``product(xr, wr, fill) -> ndarray``: the real operation, linear in
        ``xr`` (extended beyond its edges by the real scalar ``fill``, if it
        is extended at all) and in ``wr``. It may return complex arrays (an
        operation with a third, complex factor): the parts are then combined
        as complex numbers.
    x, w : ndarray
        Real or complex arrays; a complex one is split into its parts.
    conj_w : bool
        Use ``conj(w)`` (SciPy's correlations).
    fill : scalar
        The value beyond the edges of ``x`` (complex: its real part goes with
        ``xr``, its imaginary part with ``xi``).
    products : {3, 4}, optional
        The form of the complex product (default: SciPy's convention's, from
        :data:`PRODUCTS`).

    Returns
    -------
    ndarray
        Complex when either side is complex (the complex dtype of the real
        products' dtype), else the real product itself.
    """
    products = PRODUCTS["scipy"] if products is None else products
    if products not in (3, 4):
        raise ValueError(f"products must be 3 or 4, got {products!r}")
    xr, xi = parts(x)
    wr, wi = parts(w)
    fr, fi = float(np.real(fill)), float(np.imag(fill))
    if xi is None and fi != 0:
        raise ValueError(f"a complex fill value ({fill!r}) needs a complex input")
    if wi is not None and conj_w:
        wi = -wi
    if xi is None and wi is None:
        return product(xr, wr, fr)
    if wi is None:                          # complex input, real weights
        re = product(xr, wr, fr)
        im = product(xi, wr, fi)
    elif xi is None:                        # real input, complex weights
        re = product(xr, wr, fr)
        im = product(xr, wi, fr)
    elif products == 4:
        re = product(xr, wr, fr)
        re -= product(xi, wi, fi)
        im = product(xr, wi, fr)
        im += product(xi, wr, fi)
    else:
        k1 = product(xr, wr, fr)
        k2 = product(xi, wi, fi)
        im = product(xr + xi, wr + wi, fr + fi)
        im -= k1
        im -= k2
        re = k1
        re -= k2
    if re.dtype.kind == "c":
        im *= 1j
        re += im
        return re
    out = np.empty(re.shape, complex_dtype(re.dtype))
    out.real = re
    out.imag = im
    return out


def compose(real, x, w, *, convention, names=("input", "weight"), bias=None,
            channel_axis=-1, conj_w=False, fill=0.0, out=None):
    """A public operation on complex arrays, from its real version.

    Parameters
    ----------
    real : callable
        ``real(xr, wr, fill) -> ndarray``: the public operation (validation,
        algorithm choice, kernel) on real arrays, linear in each of them,
        without bias and ``out``.
    x, w : array_like
        The two factors (real or complex; at least one of them, or ``bias``,
        or ``fill`` is complex), named ``names`` in error messages.
    convention : {'pytorch', 'scipy'}
        Whose semantics the caller follows: the key of :data:`PRODUCTS`.
    bias : array_like, optional
        One value per output channel, added along ``channel_axis`` of the result.
    conj_w : bool
        Use ``conj(w)``.
    fill : scalar
        The value beyond the edges of ``x`` (see :func:`bilinear`).
    out : ndarray, optional
        Written with the result (of its shape and complex dtype; not
        overlapping an input).

    Returns
    -------
    ndarray
        Of :func:`result_dtype` of the arrays; the inputs are not modified
        (their parts are copies).
    """
    xa, wa = as_any_array(x, names[0]), as_any_array(w, names[1])
    ba = None if bias is None else as_any_array(bias, "bias")
    if not isinstance(fill, (numbers.Number, np.bool_)):
        raise TypeError(f"the fill value must be a number, got {fill!r}")
    dtype = result_dtype(xa, wa, ba)
    rdt = REAL_OF[dtype]
    xc = xa.astype(dtype if xa.dtype.kind == "c" or np.imag(fill) != 0 else rdt, copy=False)
    wc = wa.astype(dtype if wa.dtype.kind == "c" else rdt, copy=False)
    res = bilinear(real, xc, wc, conj_w=conj_w, fill=fill, products=PRODUCTS[convention])
    if res.dtype != dtype:          # real factors (and a complex bias)
        res = res.astype(dtype)
    if ba is not None:
        axis = channel_axis % res.ndim
        if ba.shape != (res.shape[axis],):
            raise ValueError(f"bias must have shape ({res.shape[axis]},) (one value per output "
                             f"channel), got {ba.shape}")
        res += ba.astype(dtype, copy=False).reshape(
            [-1 if d == axis else 1 for d in range(res.ndim)])
    if out is None:
        return res
    check_out(out, res.shape, dtype, [(names[0], x), (names[1], w), ("bias", bias)])
    out[...] = res
    return out


def compose_conv(real, nd, layout, x, weight, bias, out, **kwargs):
    """:func:`compose` for a convolution (PyTorch's convention) of ``nd``
    spatial dims in ``layout``:
    the bias goes along the channel axis (``-(nd + 1)`` channels first, the
    last axis channels last)."""
    axis = -1 if layout == "channels_last" else -(nd + 1)
    return compose(real, x, weight, convention="pytorch", bias=bias, channel_axis=axis,
                   out=out, **kwargs)
