"""Reference definitions of the signal and image correlate/convolve.

Written straight from the definition, in float64. ``in1`` is extended beyond
its edges by the boundary rule (index by index, for any distance from the
edge), and the full cross-correlation is

    c[k] = sum_t ext(in1)[k + t - (N2 - 1)] * in2[t],   0 <= k < N1 + N2 - 1

per dimension (``t`` and ``k`` are multi-indices). ``mode`` keeps the whole
of it (``"full"``), its centre of ``in1``'s size (``"same"``) or its centre
of size ``|N1 - N2| + 1`` (``"valid"``, computed with zero fill whatever the
boundary), as ``scipy.signal.correlate``. ``convolve`` is ``correlate`` with
``in2`` flipped along every axis. When ``in1`` has one dimension more than
``in2``, its last axis holds channels, each filtered on its own.
"""
import numpy as np

__all__ = ["correlate", "convolve", "extend_index"]


def _walk(j, n, boundary):
    """The cell of ``in1`` (size ``n``) that position ``j`` reads, or -1 for the
    fill value: walk into ``in1`` one reflection or one period at a time."""
    if 0 <= j < n:
        return j
    if boundary == "fill":
        return -1
    if boundary == "nearest":
        return 0 if j < 0 else n - 1
    if n == 1 and boundary == "mirror":
        return 0
    while not 0 <= j < n:
        if boundary == "wrap":
            j += n if j < 0 else -n
        elif boundary in ("reflect", "symmetric"):    # about the outer edge of the end cell
            j = -1 - j if j < 0 else 2 * n - 1 - j
        elif boundary == "mirror":                    # about the centre of the end cell
            j = -j if j < 0 else 2 * (n - 1) - j
        else:
            raise ValueError(f"unknown boundary {boundary!r}")
    return j


def extend_index(idx, n, boundary):
    """The index of ``in1`` (size ``n``) that position ``idx`` reads, or -1 for the fill value.

    ``reflect``/``symmetric``: d c b a | a b c d | d c b a; ``mirror``:
    d c b | a b c d | c b a; ``nearest``: a a | a b c d | d d; ``wrap``:
    c d | a b c d | a b. Positions further out than one length of ``in1``
    are reflected (or wrapped) again, as often as it takes.

    Parameters
    ----------
    idx : array_like of int
        Positions of the extended signal (``in1``'s own at ``0 .. n - 1``).
    n : int
        Length of ``in1`` along the axis.
    boundary : {"fill", "reflect", "symmetric", "mirror", "nearest", "wrap"}

    Returns
    -------
    numpy.ndarray
        int64 indices into ``in1``, -1 where the fill value goes.

    Examples
    --------
    >>> from fastconv.reference import extend_index
    >>> extend_index(range(-3, 7), 4, "mirror")
    array([3, 2, 1, 0, 1, 2, 3, 2, 1, 0])
    """
    idx = np.asarray(idx, dtype=np.int64)
    return np.array([_walk(int(j), int(n), boundary) for j in idx.ravel()],
                    dtype=np.int64).reshape(idx.shape)


def _kept(n1, n2, mode):
    """First index and length of the part of the full correlation ``mode`` keeps."""
    if mode == "full":
        return 0, n1 + n2 - 1
    if mode == "same":       # in1's size, centred: (n2 - 1) // 2 dropped at the start
        return (n2 - 1) // 2, n1
    if mode == "valid":      # where one of the two lies wholly inside the other
        return min(n1, n2) - 1, abs(n1 - n2) + 1
    raise ValueError(f"mode must be 'full', 'same' or 'valid', got {mode!r}")


def _correlate_one(a, b, mode, boundary, fillvalue):
    if mode == "valid":
        boundary, fillvalue = "fill", 0.0
    maps, sizes = [], []
    for n1, n2 in zip(a.shape, b.shape):
        start, size = _kept(n1, n2, mode)
        maps.append(extend_index(start - (n2 - 1) + np.arange(size + n2 - 1), n1, boundary))
        sizes.append(size)
    ext = a[np.ix_(*[np.where(m < 0, 0, m) for m in maps])].copy()
    for dim, m in enumerate(maps):
        sl = [slice(None)] * a.ndim
        sl[dim] = m < 0
        ext[tuple(sl)] = fillvalue
    result = np.zeros(sizes)
    for t in np.ndindex(*b.shape):
        window = tuple(slice(ti, ti + s) for ti, s in zip(t, sizes))
        result += b[t] * ext[window]
    return result


def correlate(in1, in2, mode="full", boundary="fill", fillvalue=0.0):
    """Cross-correlation of ``in1`` and ``in2`` in float64 (``scipy.signal.correlate``'s modes).

    ``in1`` has ``in2.ndim`` dims, or one more (a trailing channel axis).
    """
    a = np.asarray(in1, dtype=np.float64)
    b = np.asarray(in2, dtype=np.float64)
    if a.ndim == b.ndim + 1:
        return np.stack([_correlate_one(a[..., c], b, mode, boundary, fillvalue)
                         for c in range(a.shape[-1])], axis=-1)
    return _correlate_one(a, b, mode, boundary, fillvalue)


def convolve(in1, in2, mode="full", boundary="fill", fillvalue=0.0):
    """Convolution: :func:`correlate` with ``in2`` flipped along every axis."""
    b = np.asarray(in2, dtype=np.float64)
    return correlate(in1, b[(slice(None, None, -1),) * b.ndim], mode, boundary, fillvalue)
