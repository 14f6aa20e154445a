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


def extend_index(idx, n, boundary):
    """The index of ``in1`` (size ``n``) that position ``idx`` reads, or -1 for the fill value.

    ``reflect``/``symmetric``: d c b a | a b c d | d c b a; ``mirror``:
    d c b | a b c d | c b a; ``nearest``: a a | a b c d | d d; ``wrap``:
    c d | a b c d | a b.
    """
    idx = np.asarray(idx, dtype=np.int64)
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
    if boundary == "wrap":
        return np.mod(idx, n)
    raise ValueError(f"unknown boundary {boundary!r}")


def _region(n1, n2, mode):
    """(start, size) of the kept part of the full correlation in one dim."""
    full = n1 + n2 - 1
    size = {"full": full, "same": n1, "valid": abs(n1 - n2) + 1}[mode]
    return (full - size) // 2, size


def _correlate_one(a, b, mode, boundary, fillvalue):
    if mode == "valid":
        boundary, fillvalue = "fill", 0.0
    maps, sizes = [], []
    for n1, n2 in zip(a.shape, b.shape):
        start, size = _region(n1, n2, mode)
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
