"""``fastconv.ndimage``'s filters on Dask arrays (dask-image's ``ndfilters`` API).

Each function takes a ``dask.array.Array`` (any chunking) and the arguments
of its :mod:`fastconv.ndimage` namesake (except ``output``: the result is a
new Dask array, of the dtype the in-memory function returns), and returns a
lazy ``dask.array.Array`` of the input's shape (and chunks, unless some had
to be merged, below) whose computed value has the bits of the in-memory
function on the whole array.

How: every block is computed by the in-memory function on the block
extended by the filter's reach along each axis, and the extension is cut
off again, on the graph of :mod:`fastconv.dask`'s convolutions (not Dask's
``map_overlap``): a block's task reads the input chunks it uses whole by
key and its halo from one ``halos`` task per neighbouring chunk (which cuts
every piece the neighbours need), assembles the extended block and runs the
filter (:func:`fastconv.dask._graph.build`, the axis plans of
:func:`fastconv.dask._geometry.correlate_axis`). Along an axis

* the reach is the filter's own: the kernel's extent and ``origin`` for
  ``correlate``/``convolve``/``uniform_filter``, the radius (``truncate`` or
  ``radius``) for the Gaussian filters, one pixel for ``sobel``, ``prewitt``
  and ``laplace``; an axis the filter does not touch (``axes``) is not
  extended;
* at the array's ends the in-memory function applies the boundary
  ``mode`` itself (a block at an end sees the array's end: its plan has no
  extension there, ``boundary="none"``), except for
  ``"wrap"``/``"grid-wrap"``, whose extension comes from the far end of the
  array (periodic) -- chunked ``wrap`` is exact here;
* chunks shorter than the reach plus one are merged with their neighbours
  (a block of the result gathers several input chunks, so that it holds
  what the mode's reflection at an end reads), and an axis shorter than
  that is computed in one piece, so axes shorter than the filter's halo
  work too;
* the uniform filters of float64 inputs are the exception to the bits: the
  in-memory function's running sum (SciPy's) carries its rounding along the
  line, so a block that starts mid-line differs in the last few bits (a few
  ulp; float32 and integer inputs, whose sums run in float64, are exact).

Each block runs on the thread count of :func:`fastconv.dask.task_threads`
(``num_threads`` when given).

>>> import numpy as np, dask.array as da, fastconv.ndimage
>>> import fastconv.dask.ndimage as dndi
>>> x = da.random.default_rng(0).random((600, 500), chunks=(256, 200))
>>> y = dndi.gaussian_filter(x, sigma=3, mode="wrap")
>>> y.chunks == x.chunks, y.dtype
(True, dtype('float64'))
>>> bool(np.array_equal(y.compute(), fastconv.ndimage.gaussian_filter(x.compute(), 3, mode="wrap")))
True
"""
import numbers

import numpy as np
import dask.array as da

import fastconv.ndimage as _ndi
from fastconv.dask import _geometry as geo
from fastconv.dask._blocks import FilterBlock
from fastconv.dask._graph import build

__all__ = ["correlate", "convolve", "correlate1d", "convolve1d", "gaussian_filter",
           "gaussian_filter1d", "uniform_filter", "uniform_filter1d", "sobel", "prewitt",
           "laplace", "gaussian_laplace", "gaussian_gradient_magnitude"]

_PERIODIC = ("wrap", "grid-wrap")


def _per_axis(value, n, name):
    """``value`` (a scalar or one per axis) as a list of ``n``."""
    if isinstance(value, (str, bytes)) or not np.iterable(value):
        return [value] * n
    value = list(value)
    if len(value) != n:
        raise RuntimeError(f"{name} must have one entry per axis: expected {n}, got {len(value)}")
    return value


def _axes(axes, ndim):
    """The filtered axes, non-negative, in order (all when None)."""
    if axes is None:
        return list(range(ndim))
    if isinstance(axes, numbers.Integral):
        axes = (axes,)
    return [int(a) % ndim for a in axes]


def _extent_reach(size, origin, flipped=False):
    """(before, after): input positions a kernel of ``size`` taps at ``origin``
    reads on each side of the output position (SciPy's rule; ``flipped``:
    convolution, whose origin is mirrored and, for even sizes, shifted)."""
    size, origin = int(size), int(origin)
    if flipped:
        origin = -origin - (1 - size % 2)
    before = size // 2 + origin
    return max(before, 0), max(size - 1 - before, 0)


def _gaussian_radii(sigma, n, truncate, radius):
    sigmas = _per_axis(sigma, n, "sigma")
    radii = _per_axis(radius, n, "radius")
    return [0 if float(s) < 1e-15 else
            (int(r) if r is not None else int(float(truncate) * float(s) + 0.5))
            for s, r in zip(sigmas, radii)]


def _at_least(chunks, need):
    """``chunks`` with neighbours merged until every chunk has ``need`` elements
    (a short last one joins the one before; one chunk if the axis is shorter)."""
    if min(chunks) >= need:
        return tuple(chunks)
    out, run = [], 0
    for c in chunks:
        run += c
        if run >= need:
            out.append(run)
            run = 0
    if run:
        if out:
            out[-1] += run
        else:
            out.append(run)
    return tuple(out)


def _run(image, func, reach_of, mode, num_threads, weights=None, **kwargs):
    """``func(block, mode=mode, **kwargs)`` over the blocks of ``image``
    extended by ``reach_of(ndim)[axis] = (before, after)``, on fastconv.dask's
    halo graph (:func:`fastconv.dask._graph.build`)."""
    if not isinstance(image, da.Array):
        image = da.asarray(np.asarray(image))
    if weights is not None:
        kwargs["weights"] = weights
    # The in-memory function's own checks and result dtype, on a stand-in of
    # the input's dimensions and dtype (so the errors are the same).
    probe = func(np.zeros((3,) * image.ndim, image.dtype), mode=mode, **kwargs)
    kwargs.pop("weights", None)
    reach = reach_of(image.ndim)
    modes = _per_axis(mode, image.ndim, "mode")
    plans, befores = [], []
    for axis, chunks in enumerate(image.chunks):
        before, after = reach.get(axis, (0, 0))
        if before == after == 0 or image.size == 0:
            plans.append(geo.AxisPlan.identity(chunks))
            befores.append(0)
            continue
        # A block must hold what its extension reads: its neighbours' halo,
        # and at the array's ends the mode's reflection (up to reach + 1
        # pixels); one piece sees the whole axis and is not extended.
        bounds = geo.offsets(_at_least(chunks, max(before, after) + 1))
        if len(bounds) == 2:
            before = after = 0
        boundary = "wrap" if modes[axis] in _PERIODIC else "none"
        plans.append(geo.correlate_axis(chunks, before + after + 1, after, image.shape[axis],
                                        boundary, bounds=bounds))
        befores.append(before)
    op = FilterBlock(func=func, mode=mode, kwargs=tuple(sorted(kwargs.items())),
                     before=tuple(befores), num_threads=num_threads)
    return build(image, plans, op, probe.dtype, f"fastconv-ndimage-{func.__name__}",
                 (weights,), [weights], [None], ext_dtype=image.dtype)


def correlate(image, weights, mode="reflect", cval=0.0, origin=0, *, axes=None,
              num_threads=None):
    """:func:`fastconv.ndimage.correlate` on a Dask array.

    Parameters
    ----------
    image : dask.array.Array or array_like
        The input, chunked along any axes.
    weights, mode, cval, origin, axes
        As :func:`fastconv.ndimage.correlate`.
    num_threads : int, optional
        Threads per block (default: :func:`fastconv.dask.task_threads`).

    Returns
    -------
    dask.array.Array
        The input's shape and chunks; computed, the in-memory result's bits.

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv.ndimage, fastconv.dask.ndimage
    >>> x = da.arange(100.0, chunks=30).reshape(10, 10).rechunk(4)
    >>> w = np.arange(9.0).reshape(3, 3)
    >>> y = fastconv.dask.ndimage.correlate(x, w, mode="mirror")
    >>> bool(np.array_equal(y.compute(), fastconv.ndimage.correlate(x.compute(), w, mode="mirror")))
    True
    """
    return _kernel_filter(_ndi.correlate, False, image, weights, mode, cval, origin, axes,
                          num_threads)


def convolve(image, weights, mode="reflect", cval=0.0, origin=0, *, axes=None,
             num_threads=None):
    """:func:`fastconv.ndimage.convolve` on a Dask array.

    Parameters are those of :func:`correlate`.

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv.ndimage, fastconv.dask.ndimage
    >>> x = da.ones((7, 9), chunks=4)
    >>> w = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> y = fastconv.dask.ndimage.convolve(x, w, mode="constant", cval=-1.0)
    >>> bool(np.array_equal(y.compute(), fastconv.ndimage.convolve(x.compute(), w, mode="constant", cval=-1.0)))
    True
    """
    return _kernel_filter(_ndi.convolve, True, image, weights, mode, cval, origin, axes,
                          num_threads)


def _kernel_filter(func, flipped, image, weights, mode, cval, origin, axes, num_threads):
    weights = np.asarray(weights)

    def reach_of(ndim):
        # SciPy's mapping: the weights' dimensions go to the axes in
        # increasing order, the origins to the axes in the order given.
        filtered = _axes(axes, ndim)
        origins = dict(zip(filtered, _per_axis(origin, len(filtered), "origin")))
        return {a: _extent_reach(k, origins[a], flipped)
                for a, k in zip(sorted(filtered), weights.shape)}

    kwargs = dict(cval=cval, origin=origin)
    if axes is not None:
        kwargs["axes"] = axes
    return _run(image, func, reach_of, mode, num_threads, weights, **kwargs)


def correlate1d(image, weights, axis=-1, mode="reflect", cval=0.0, origin=0, *,
                num_threads=None):
    """:func:`fastconv.ndimage.correlate1d` on a Dask array.

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv.ndimage, fastconv.dask.ndimage
    >>> x = da.arange(50.0, chunks=7)
    >>> y = fastconv.dask.ndimage.correlate1d(x, [1.0, -2.0, 1.0, 0.5], origin=1)
    >>> bool(np.array_equal(y.compute(), fastconv.ndimage.correlate1d(x.compute(), [1.0, -2.0, 1.0, 0.5], origin=1)))
    True
    """
    return _line_filter(_ndi.correlate1d, False, image, weights, axis, mode, cval, origin,
                        num_threads)


def convolve1d(image, weights, axis=-1, mode="reflect", cval=0.0, origin=0, *,
               num_threads=None):
    """:func:`fastconv.ndimage.convolve1d` on a Dask array.

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv.ndimage, fastconv.dask.ndimage
    >>> x = da.arange(50.0, chunks=7)
    >>> y = fastconv.dask.ndimage.convolve1d(x, [1.0, 3.0], mode="wrap")
    >>> bool(np.array_equal(y.compute(), fastconv.ndimage.convolve1d(x.compute(), [1.0, 3.0], mode="wrap")))
    True
    """
    return _line_filter(_ndi.convolve1d, True, image, weights, axis, mode, cval, origin,
                        num_threads)


def _line_filter(func, flipped, image, weights, axis, mode, cval, origin, num_threads):
    weights = np.asarray(weights)

    def reach_of(ndim):
        return {int(axis) % ndim: _extent_reach(weights.shape[0], origin, flipped)}

    return _run(image, func, reach_of, mode, num_threads, weights, axis=axis, cval=cval,
                origin=origin)


def gaussian_filter(image, sigma, order=0, mode="reflect", cval=0.0, truncate=4.0, *,
                    radius=None, axes=None, num_threads=None):
    """:func:`fastconv.ndimage.gaussian_filter` on a Dask array.

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv.ndimage, fastconv.dask.ndimage
    >>> x = da.random.default_rng(1).random((40, 30), chunks=(9, 16)).astype(np.float32)
    >>> y = fastconv.dask.ndimage.gaussian_filter(x, (2.0, 1.0), order=(0, 1))
    >>> bool(np.array_equal(y.compute(), fastconv.ndimage.gaussian_filter(x.compute(), (2.0, 1.0), order=(0, 1))))
    True
    """
    def reach_of(ndim):
        filtered = _axes(axes, ndim)
        radii = _gaussian_radii(sigma, len(filtered), truncate, radius)
        return {a: (r, r) for a, r in zip(filtered, radii)}

    kwargs = dict(sigma=sigma, order=order, cval=cval, truncate=truncate, radius=radius)
    if axes is not None:
        kwargs["axes"] = axes
    return _run(image, _ndi.gaussian_filter, reach_of, mode, num_threads, **kwargs)


def gaussian_filter1d(image, sigma, axis=-1, order=0, mode="reflect", cval=0.0, truncate=4.0,
                      *, radius=None, num_threads=None):
    """:func:`fastconv.ndimage.gaussian_filter1d` on a Dask array.

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv.ndimage, fastconv.dask.ndimage
    >>> x = da.random.default_rng(2).random((64, 8), chunks=(10, 8))
    >>> y = fastconv.dask.ndimage.gaussian_filter1d(x, 4.0, axis=0, mode="nearest")
    >>> bool(np.array_equal(y.compute(), fastconv.ndimage.gaussian_filter1d(x.compute(), 4.0, axis=0, mode="nearest")))
    True
    """
    def reach_of(ndim):
        (r,) = _gaussian_radii(sigma, 1, truncate, radius)
        return {int(axis) % ndim: (r, r)}

    return _run(image, _ndi.gaussian_filter1d, reach_of, mode, num_threads, sigma=sigma,
                axis=axis, order=order, cval=cval, truncate=truncate, radius=radius)


def uniform_filter(image, size=3, mode="reflect", cval=0.0, origin=0, *, axes=None,
                   num_threads=None):
    """:func:`fastconv.ndimage.uniform_filter` on a Dask array.

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv.ndimage, fastconv.dask.ndimage
    >>> x = da.random.default_rng(3).random((33, 47), chunks=12).astype(np.float32)
    >>> y = fastconv.dask.ndimage.uniform_filter(x, size=(4, 5), origin=(1, -2))
    >>> bool(np.array_equal(y.compute(), fastconv.ndimage.uniform_filter(x.compute(), (4, 5), origin=(1, -2))))
    True
    """
    def reach_of(ndim):
        filtered = _axes(axes, ndim)
        sizes = _per_axis(size, len(filtered), "size")
        origins = _per_axis(origin, len(filtered), "origin")
        return {a: _extent_reach(s, o) for a, s, o in zip(filtered, sizes, origins)}

    kwargs = dict(size=size, cval=cval, origin=origin)
    if axes is not None:
        kwargs["axes"] = axes
    return _run(image, _ndi.uniform_filter, reach_of, mode, num_threads, **kwargs)


def uniform_filter1d(image, size, axis=-1, mode="reflect", cval=0.0, origin=0, *,
                     num_threads=None):
    """:func:`fastconv.ndimage.uniform_filter1d` on a Dask array.

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv.ndimage, fastconv.dask.ndimage
    >>> x = da.arange(30, chunks=4)
    >>> y = fastconv.dask.ndimage.uniform_filter1d(x, 5, mode="mirror")
    >>> y.dtype
    dtype('int64')
    >>> bool(np.array_equal(y.compute(), fastconv.ndimage.uniform_filter1d(x.compute(), 5, mode="mirror")))
    True
    """
    def reach_of(ndim):
        return {int(axis) % ndim: _extent_reach(size, origin)}

    return _run(image, _ndi.uniform_filter1d, reach_of, mode, num_threads, size=size, axis=axis,
                cval=cval, origin=origin)


def _one_pixel(axes=None):
    """The reach of the 3-tap derivative filters: one pixel along ``axes`` (all when None)."""
    return lambda ndim: {a: (1, 1) for a in _axes(axes, ndim)}


def sobel(image, axis=-1, mode="reflect", cval=0.0, *, num_threads=None):
    """:func:`fastconv.ndimage.sobel` on a Dask array.

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv.ndimage, fastconv.dask.ndimage
    >>> x = da.random.default_rng(4).integers(0, 255, (20, 30), dtype=np.uint8).rechunk(7)
    >>> y = fastconv.dask.ndimage.sobel(x, axis=0)
    >>> bool(np.array_equal(y.compute(), fastconv.ndimage.sobel(x.compute(), axis=0)))
    True
    """
    return _run(image, _ndi.sobel, _one_pixel(), mode, num_threads, axis=axis, cval=cval)


def prewitt(image, axis=-1, mode="reflect", cval=0.0, *, num_threads=None):
    """:func:`fastconv.ndimage.prewitt` on a Dask array.

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv.ndimage, fastconv.dask.ndimage
    >>> x = da.random.default_rng(5).random((8, 9, 10), chunks=4)
    >>> y = fastconv.dask.ndimage.prewitt(x, axis=1, mode="wrap")
    >>> bool(np.array_equal(y.compute(), fastconv.ndimage.prewitt(x.compute(), axis=1, mode="wrap")))
    True
    """
    return _run(image, _ndi.prewitt, _one_pixel(), mode, num_threads, axis=axis, cval=cval)


def laplace(image, mode="reflect", cval=0.0, *, axes=None, num_threads=None):
    """:func:`fastconv.ndimage.laplace` on a Dask array.

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv.ndimage, fastconv.dask.ndimage
    >>> x = da.random.default_rng(6).random((25, 25), chunks=6)
    >>> y = fastconv.dask.ndimage.laplace(x)
    >>> bool(np.array_equal(y.compute(), fastconv.ndimage.laplace(x.compute())))
    True
    """
    kwargs = {} if axes is None else {"axes": axes}
    return _run(image, _ndi.laplace, _one_pixel(axes), mode, num_threads, cval=cval, **kwargs)


def _gaussian_pair(func, image, sigma, mode, cval, axes, num_threads, kwargs):
    def reach_of(ndim):
        filtered = _axes(axes, ndim)
        radii = _gaussian_radii(sigma, len(filtered), kwargs.get("truncate", 4.0),
                                kwargs.get("radius"))
        return {a: (r, r) for a, r in zip(filtered, radii)}

    if axes is not None:
        kwargs = dict(kwargs, axes=axes)
    return _run(image, func, reach_of, mode, num_threads, sigma=sigma, cval=cval, **kwargs)


def gaussian_laplace(image, sigma, mode="reflect", cval=0.0, *, axes=None, num_threads=None,
                     **kwargs):
    """:func:`fastconv.ndimage.gaussian_laplace` on a Dask array
    (``kwargs``: ``truncate``, ``radius``, as the in-memory function).

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv.ndimage, fastconv.dask.ndimage
    >>> x = da.random.default_rng(7).random((30, 40), chunks=(11, 13))
    >>> y = fastconv.dask.ndimage.gaussian_laplace(x, 1.5, truncate=3.0)
    >>> bool(np.array_equal(y.compute(), fastconv.ndimage.gaussian_laplace(x.compute(), 1.5, truncate=3.0)))
    True
    """
    return _gaussian_pair(_ndi.gaussian_laplace, image, sigma, mode, cval, axes, num_threads,
                          kwargs)


def gaussian_gradient_magnitude(image, sigma, mode="reflect", cval=0.0, *, axes=None,
                                num_threads=None, **kwargs):
    """:func:`fastconv.ndimage.gaussian_gradient_magnitude` on a Dask array
    (``kwargs``: ``truncate``, ``radius``, as the in-memory function).

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv.ndimage, fastconv.dask.ndimage
    >>> x = da.random.default_rng(8).random((30, 40), chunks=(11, 13)).astype(np.float32)
    >>> y = fastconv.dask.ndimage.gaussian_gradient_magnitude(x, 2.0)
    >>> bool(np.array_equal(y.compute(), fastconv.ndimage.gaussian_gradient_magnitude(x.compute(), 2.0)))
    True
    """
    return _gaussian_pair(_ndi.gaussian_gradient_magnitude, image, sigma, mode, cval, axes,
                          num_threads, kwargs)
