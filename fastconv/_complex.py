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
additions over the inputs. :data:`PRODUCTS` says which form is used; see its
comment for the measurement behind the choice. When only one side is
complex, two real products suffice and both forms coincide.

Nothing here knows what ``P`` computes: every caller passes its real
pipeline (a public function, or a ``_signal`` / ``_dispatch`` entry point)
as a function, so every algorithm of the real pipeline (direct, im2col,
Winograd, FFT) serves complex arrays unchanged.

Conjugation is the caller's: SciPy's correlations conjugate the weights,
PyTorch's convolutions do not.
"""
import numpy as np

#: Real products per complex product: 4 (the definition) or 3 (Gauss).
#: FIXME-MEASURE
PRODUCTS = 4

#: The real dtype of each complex dtype.
REAL_OF = {np.dtype(np.complex64): np.dtype(np.float32),
           np.dtype(np.complex128): np.dtype(np.float64)}


def complex_dtype(real_dtype):
    """The complex dtype whose parts are ``real_dtype`` (float32 or float64)."""
    return np.dtype(np.complex64) if np.dtype(real_dtype) == np.float32 else np.dtype(
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
        is extended at all) and in ``wr``.
    x, w : ndarray
        Real or complex arrays; a complex one is split into its parts.
    conj_w : bool
        Use ``conj(w)`` (SciPy's correlations).
    fill : scalar
        The value beyond the edges of ``x`` (complex: its real part goes with
        ``xr``, its imaginary part with ``xi``).
    products : {3, 4}, optional
        The form of the complex product (default :data:`PRODUCTS`).

    Returns
    -------
    ndarray
        Complex when either side is complex (the complex dtype of the real
        products' dtype), else the real product itself.
    """
    products = PRODUCTS if products is None else products
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
    out = np.empty(re.shape, complex_dtype(re.dtype))
    out.real = re
    out.imag = im
    return out
