"""Slow, obviously-correct reference convolutions in float64.

The functions here follow the definition of a (cross-correlation) convolution
literally and compute everything in ``float64``.  They are the ground truth the
test suite compares the compiled kernels with, so they deliberately share
nothing with the compiled package, not even a helper: the padded input is
built from slices of the input as PyTorch's padding modes describe it
(:func:`pad`; not :func:`numpy.pad`, which the fast path uses), and the sum
over the taps of the kernel is written as one ``tensordot`` over the input
channels per tap::

    y[n, o, p] = b[o] + sum_{c in group(o)} sum_t w[o, c, t] * xpad[n, c, p*stride + t*dilation]

where ``p`` and ``t`` are multi-indices over the spatial dimensions and ``c``
runs over the input channels of output channel ``o``'s group.

The semantics match :func:`fastconv.conv1d` and friends (which follow
``torch.nn.functional.conv{1,2,3}d``): channels-first layout, optional batch
dimension, ``groups``, asymmetric padding, ``"valid"`` and ``"same"`` padding
(TensorFlow's rule, valid for every stride) and the padding modes ``"zeros"``,
``"reflect"``, ``"replicate"`` and ``"circular"``.  Only minimal validation is
done; the public functions of the package perform the user-facing checks.

:func:`conv_nd_loops` is a second, independent definition with one Python
loop per index: it parses its arguments, derives ``"same"`` padding and the
output size, and finds the input cell a padded position reads, each its own
way (by search and by walking from the position to the input), so that the
two definitions check each other. It is only usable on tiny problems.
"""
import itertools
import numbers

import numpy as np

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_nd",
    "conv_nd_loops",
    "output_shape",
    "pad",
    "resolve_padding",
]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _as_float64(a, name):
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must have a real numeric or bool dtype, got {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def _int_tuple(value, nd, name):
    """Expand an int or a sequence of ``nd`` ints into a tuple of ``nd`` ints."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        values = (int(value),) * nd
    else:
        values = tuple(value)
        if len(values) != nd:
            raise ValueError(f"{name} must have {nd} entries, got {len(values)}: {value!r}")
        for v in values:
            if not isinstance(v, numbers.Integral) or isinstance(v, bool):
                raise ValueError(f"{name} entries must be ints, got {value!r}")
        values = tuple(int(v) for v in values)
    for v in values:
        if v < 1:
            raise ValueError(f"{name} must be >= 1, got {value!r}")
    return values


def resolve_padding(padding, input_spatial, kernel, stride=1, dilation=1):
    """Turn any accepted form of ``padding`` into ``(before, after)`` pairs.

    Parameters
    ----------
    padding : int, sequence of int, sequence of (int, int), "valid" or "same"
        An int pads every side of every spatial dimension by that amount; one
        int per dimension pads both sides of that dimension; one
        ``(before, after)`` pair per dimension pads asymmetrically.
        ``"valid"`` means no padding.  ``"same"`` uses TensorFlow's rule, for
        every stride: the output size is ``ceil(in / stride)`` and the total
        padding ``max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0)`` is
        split with the odd element on the after side.
    input_spatial : sequence of int
        Spatial sizes of the input.
    kernel : sequence of int
        Spatial sizes of the kernel.
    stride, dilation : int or sequence of int, optional
        Needed for ``"same"``.

    Returns
    -------
    list of tuple of int
        One ``(before, after)`` pair per spatial dimension.

    Raises
    ------
    ValueError
        If the padding is negative, has the wrong number of entries or is an
        unknown string.

    Examples
    --------
    >>> from fastconv.reference import resolve_padding
    >>> resolve_padding(1, (10, 10), (3, 3))
    [(1, 1), (1, 1)]
    >>> resolve_padding("same", (10,), (3,), stride=2)
    [(0, 1)]
    >>> resolve_padding(((0, 2),), (10,), (3,))
    [(0, 2)]
    """
    nd = len(input_spatial)
    stride = _int_tuple(stride, nd, "stride")
    dilation = _int_tuple(dilation, nd, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * nd
        if padding == "same":
            pads = []
            for n_in, k, s, d in zip(input_spatial, kernel, stride, dilation):
                n_out = -(-n_in // s)  # ceil(n_in / s)
                total = max((n_out - 1) * s + (k - 1) * d + 1 - n_in, 0)
                pads.append((total // 2, total - total // 2))
            return pads
        raise ValueError(f"padding must be 'valid' or 'same' when a string, got {padding!r}")
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        pads = [(int(padding), int(padding))] * nd
    else:
        entries = list(padding)
        if len(entries) != nd:
            raise ValueError(f"padding must have {nd} entries, got {len(entries)}: {padding!r}")
        pads = []
        for e in entries:
            if isinstance(e, numbers.Integral) and not isinstance(e, bool):
                pads.append((int(e), int(e)))
            else:
                pair = tuple(e)
                if len(pair) != 2:
                    raise ValueError(f"padding pairs must be (before, after), got {e!r}")
                pads.append((int(pair[0]), int(pair[1])))
    for before, after in pads:
        if before < 0 or after < 0:
            raise ValueError(f"padding must be >= 0, got {padding!r}")
    return pads


def output_shape(input_shape, weight_shape, stride=1, padding=0, dilation=1):
    """Shape of the result of a convolution.

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
    weight_shape : tuple of int
        ``(C_out, C_in // groups, *kernel)``.
    stride, padding, dilation
        As for :func:`conv_nd`.

    Returns
    -------
    tuple of int
        ``(N, C_out, *out_spatial)`` or ``(C_out, *out_spatial)``, where
        ``out = floor((in + before + after - dilation * (k - 1) - 1) / stride) + 1``.

    Raises
    ------
    ValueError
        If the shapes are inconsistent or the dilated kernel is larger than
        the padded input.

    Examples
    --------
    >>> from fastconv.reference import output_shape
    >>> output_shape((2, 3, 10, 10), (8, 3, 3, 3), stride=2, padding=1)
    (2, 8, 5, 5)
    >>> output_shape((3, 10), (4, 3, 3), padding="same")
    (4, 10)
    """
    input_shape = tuple(int(s) for s in input_shape)
    weight_shape = tuple(int(s) for s in weight_shape)
    nd = len(weight_shape) - 2
    if nd < 1:
        raise ValueError(f"weight must have at least 3 dimensions, got shape {weight_shape}")
    if len(input_shape) not in (nd + 1, nd + 2):
        raise ValueError(
            f"input must have {nd + 1} or {nd + 2} dimensions for a {nd}-d kernel, "
            f"got shape {input_shape}"
        )
    batched = len(input_shape) == nd + 2
    spatial = input_shape[-nd:]
    kernel = weight_shape[2:]
    stride = _int_tuple(stride, nd, "stride")
    dilation = _int_tuple(dilation, nd, "dilation")
    pads = resolve_padding(padding, spatial, kernel, stride, dilation)
    out = []
    for n_in, k, s, d, (before, after) in zip(spatial, kernel, stride, dilation, pads):
        span = n_in + before + after - d * (k - 1) - 1
        if span < 0:
            raise ValueError(
                f"dilated kernel size {d * (k - 1) + 1} is larger than the padded input "
                f"size {n_in + before + after}"
            )
        out.append(span // s + 1)
    head = (input_shape[0], weight_shape[0]) if batched else (weight_shape[0],)
    return head + tuple(out)


def _check_shapes(x, weight, bias, groups):
    """Shared minimal validation; returns (x as batched float64, nd, batched)."""
    nd = weight.ndim - 2
    if nd < 1:
        raise ValueError(f"weight must have at least 3 dimensions, got shape {weight.shape}")
    if x.ndim == nd + 1:
        batched = False
        x = x[np.newaxis]
    elif x.ndim == nd + 2:
        batched = True
    else:
        raise ValueError(
            f"input must have {nd + 1} or {nd + 2} dimensions for a {nd}-d kernel, "
            f"got shape {x.shape}"
        )
    if not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    c_out = weight.shape[0]
    c_in = x.shape[1]
    if c_out % groups != 0:
        raise ValueError(f"groups={groups} does not divide C_out={c_out}")
    if c_in != weight.shape[1] * groups:
        raise ValueError(
            f"input has C_in={c_in} channels but weight.shape[1] * groups = "
            f"{weight.shape[1]} * {groups} = {weight.shape[1] * groups}"
        )
    if bias is not None and bias.shape != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},), got {bias.shape}")
    return x, nd, batched


def _check_padding_mode(padding_mode, pads, spatial):
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    for n_in, (before, after) in zip(spatial, pads):
        if padding_mode == "reflect" and max(before, after) >= n_in:
            raise ValueError(
                f"reflect padding ({before}, {after}) must be smaller than the input size {n_in}"
            )
        if padding_mode == "circular" and max(before, after) > n_in:
            raise ValueError(
                f"circular padding ({before}, {after}) must be at most the input size {n_in}"
            )
        if padding_mode == "replicate" and n_in == 0 and before + after > 0:
            raise ValueError("replicate padding of an empty dimension")


def _pad_axis(a, axis, before, after, padding_mode):
    """``a`` with ``before`` and ``after`` cells added along ``axis``, each
    side built from the cells of ``a`` that PyTorch's mode puts there."""
    n = a.shape[axis]
    if padding_mode == "zeros":
        shape = list(a.shape)
        shape[axis] = before
        left = np.zeros(shape)
        shape[axis] = after
        right = np.zeros(shape)
    elif padding_mode == "replicate":          # a a | a b c d | d d
        left = np.take(a, [0] * before, axis=axis)
        right = np.take(a, [n - 1] * after, axis=axis)
    elif padding_mode == "circular":           # c d | a b c d | a b
        left = np.take(a, list(range(n - before, n)), axis=axis)
        right = np.take(a, list(range(after)), axis=axis)
    elif padding_mode == "reflect":            # c b | a b c d | c b (the edge not repeated)
        left = np.take(a, list(range(before, 0, -1)), axis=axis)
        right = np.take(a, list(range(n - 2, n - 2 - after, -1)), axis=axis)
    else:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    return np.concatenate([left, a, right], axis=axis)


def pad(x, pads, padding_mode="zeros"):
    """Pad the trailing ``len(pads)`` axes of ``x`` as a convolution does, in float64.

    Parameters
    ----------
    x : array_like
        ``(..., *spatial)``.
    pads : sequence of (int, int)
        ``(before, after)`` per trailing axis.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}, optional
        PyTorch's meaning: zeros; the input mirrored about its edge cell
        (``c b | a b c d | c b``, padding smaller than the size); the edge
        cell repeated; the input repeated periodically (padding at most the
        size).

    Returns
    -------
    numpy.ndarray
        float64, each trailing axis longer by ``before + after``.

    Raises
    ------
    ValueError
        For an unknown ``padding_mode`` or a padding the mode cannot fill.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import pad
    >>> x = np.array([1.0, 2.0, 3.0, 4.0])
    >>> pad(x, [(2, 1)], "reflect")
    array([3., 2., 1., 2., 3., 4., 3.])
    >>> pad(x, [(2, 1)], "circular")
    array([3., 4., 1., 2., 3., 4., 1.])
    """
    out = _as_float64(x, "x")
    first = out.ndim - len(pads)
    if first < 0:
        raise ValueError(f"{len(pads)} padding pairs for an array of {out.ndim} dimensions")
    _check_padding_mode(padding_mode, pads, out.shape[first:])
    for axis, (before, after) in enumerate(pads, start=first):
        if before or after:
            out = _pad_axis(out, axis, int(before), int(after), padding_mode)
    return out


def conv_nd(
    x,
    weight,
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    padding_mode="zeros",
):
    """N-dimensional convolution (cross-correlation), computed in float64.

    The number of spatial dimensions is ``weight.ndim - 2``.

    Parameters
    ----------
    x : array_like
        Input of shape ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
    weight : array_like
        Filters of shape ``(C_out, C_in // groups, *kernel)``.
    bias : array_like, optional
        Shape ``(C_out,)``.
    stride : int or sequence of int, optional
        Step between output positions, per spatial dimension.
    padding : int, sequence of int, sequence of (int, int), "valid" or "same", optional
        See :func:`resolve_padding`.
    dilation : int or sequence of int, optional
        Spacing between kernel taps.
    groups : int, optional
        Number of groups the channels are split into; ``C_in`` and ``C_out``
        must both be multiples of it.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}, optional
        How the padded border is filled (PyTorch's meaning).

    Returns
    -------
    numpy.ndarray
        float64 result of shape ``(N, C_out, *out_spatial)``, or
        ``(C_out, *out_spatial)`` for an unbatched input.

    Raises
    ------
    ValueError
        If the shapes or parameters are inconsistent.
    TypeError
        If an input has a complex, object or string dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import conv_nd
    >>> x = np.arange(5.0).reshape(1, 1, 5)
    >>> w = np.array([[[1.0, 0.0, -1.0]]])
    >>> conv_nd(x, w)
    array([[[-2., -2., -2.]]])
    >>> conv_nd(x[0], w, padding=1, padding_mode="replicate")
    array([[-1., -2., -2., -2., -1.]])
    """
    x = _as_float64(x, "x")
    weight = _as_float64(weight, "weight")
    bias = None if bias is None else _as_float64(bias, "bias")
    x, nd, batched = _check_shapes(x, weight, bias, groups)
    groups = int(groups)
    kernel = weight.shape[2:]
    stride = _int_tuple(stride, nd, "stride")
    dilation = _int_tuple(dilation, nd, "dilation")
    pads = resolve_padding(padding, x.shape[2:], kernel, stride, dilation)
    _check_padding_mode(padding_mode, pads, x.shape[2:])
    out_spatial = output_shape(x.shape, weight.shape, stride, pads, dilation)[2:]
    xpad = pad(x, pads, padding_mode) if x.shape[0] else np.zeros(
        x.shape[:2] + tuple(n + b + a for n, (b, a) in zip(x.shape[2:], pads)))

    n_batch, c_in = x.shape[:2]
    c_out = weight.shape[0]
    cin_g = c_in // groups
    cout_g = c_out // groups
    y = np.zeros((n_batch, c_out) + tuple(out_spatial), dtype=np.float64)

    for g in range(groups):
        xg = xpad[:, g * cin_g : (g + 1) * cin_g]
        wg = weight[g * cout_g : (g + 1) * cout_g]
        yg = y[:, g * cout_g : (g + 1) * cout_g]
        for tap in itertools.product(*(range(k) for k in kernel)):
            window = tuple(
                slice(t * d, t * d + (n_out - 1) * s + 1, s)
                for t, d, s, n_out in zip(tap, dilation, stride, out_spatial)
            )
            xs = xg[(slice(None), slice(None)) + window]  # (N, cin_g, *out_spatial)
            wt = wg[(slice(None), slice(None)) + tap]  # (cout_g, cin_g)
            # tensordot -> (cout_g, N, *out_spatial); move the batch axis first.
            yg += np.moveaxis(np.tensordot(wt, xs, axes=([1], [1])), 0, 1)
    if bias is not None:
        y += bias.reshape((1, c_out) + (1,) * nd)
    return y if batched else y[0]


# --------------------------------------------------------------------------
# The loop definition's own helpers: argument parsing, "same" padding found by
# search, the output size by counting positions, and the cell a padded
# position reads found by walking into the input.
# --------------------------------------------------------------------------
def _loop_ints(value, nd, name):
    values = [value] * nd if np.ndim(value) == 0 else list(value)
    if len(values) != nd or any(int(v) != v or v < 1 for v in values):
        raise ValueError(f"{name} must be one int >= 1 or {nd} of them, got {value!r}")
    return [int(v) for v in values]


def _loop_pads(padding, spatial, kernel, stride, dilation):
    """(before, after) per dim; "same" by search for the smallest total padding
    that gives ceil(size / stride) outputs, the odd cell after."""
    nd = len(spatial)
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * nd
        if padding != "same":
            raise ValueError(f"padding must be 'valid' or 'same' when a string, got {padding!r}")
        pads = []
        for n, k, s, d in zip(spatial, kernel, stride, dilation):
            wanted = 0
            while wanted * s < n:                      # ceil(n / s) outputs
                wanted += 1
            total = 0
            while _loop_count(n + total, k, s, d) < wanted:
                total += 1
            pads.append((total // 2, total - total // 2))
        return pads
    entries = [padding] * nd if np.ndim(padding) == 0 else list(padding)
    if len(entries) != nd:
        raise ValueError(f"padding must have {nd} entries, got {padding!r}")
    pads = [(e, e) if np.ndim(e) == 0 else tuple(e) for e in entries]
    if any(len(p) != 2 or min(p) < 0 for p in pads):
        raise ValueError(f"padding must be >= 0 ints or (before, after) pairs, got {padding!r}")
    return [(int(b), int(a)) for b, a in pads]


def _loop_count(padded, k, s, d):
    """How many output positions p have their last tap p*s + (k-1)*d inside ``padded`` cells."""
    count = 0
    while count * s + (k - 1) * d < padded:
        count += 1
    return count


def _walk_to_input(j, n, padding_mode):
    """The input cell that padded position ``j`` (input coordinates) holds, or
    None for a zero: walk from ``j`` into the input as the mode says."""
    if 0 <= j < n:
        return j
    if padding_mode == "zeros":
        return None
    step = 1 if j < 0 else -1
    if padding_mode == "replicate":            # to the nearest edge cell
        while not 0 <= j < n:
            j += step
        return j
    if padding_mode == "circular":             # by whole periods
        while not 0 <= j < n:
            j += step * n
        return j
    edge = 0 if j < 0 else n - 1               # reflect: as far inside as outside
    return edge + step * abs(j - edge)


def conv_nd_loops(
    x,
    weight,
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    padding_mode="zeros",
):
    """Scalar-loop convolution: one Python loop per index, for tiny problems.

    It evaluates, for every output element separately, ::

        y[n, o, p] = b[o] + sum_c sum_t w[o, c, t] * x[n, g*cg + c, src(p*s + t*d - before)]

    where ``g`` is the group of ``o``, ``cg = C_in // groups`` and ``src``
    maps a padded coordinate back into the input according to
    ``padding_mode`` (no padded array is built).  It accepts exactly the same
    arguments as :func:`conv_nd` and serves to check it.

    Parameters
    ----------
    x, weight, bias, stride, padding, dilation, groups, padding_mode
        As for :func:`conv_nd`.

    Returns
    -------
    numpy.ndarray
        float64 result, same shape as :func:`conv_nd`'s.

    Raises
    ------
    ValueError
        If the shapes or parameters are inconsistent.
    TypeError
        If an input has a complex, object or string dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import conv_nd_loops
    >>> x = np.arange(5.0).reshape(1, 5)
    >>> w = np.array([[[1.0, 2.0]]])
    >>> conv_nd_loops(x, w, stride=2)
    array([[2., 8.]])
    >>> conv_nd_loops(x, w, padding=((1, 0),), padding_mode="circular")
    array([[ 4.,  2.,  5.,  8., 11.]])
    """
    x = _as_float64(x, "x")
    weight = _as_float64(weight, "weight")
    bias = None if bias is None else _as_float64(bias, "bias")
    nd = weight.ndim - 2
    batched = x.ndim == nd + 2
    if nd < 1 or x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"input of shape {x.shape} does not fit a weight of shape {weight.shape}")
    if not batched:
        x = x[None]
    c_in, spatial = x.shape[1], x.shape[2:]
    c_out, cin_g, kernel = weight.shape[0], weight.shape[1], weight.shape[2:]
    if int(groups) != groups or groups < 1 or c_out % groups or cin_g * groups != c_in:
        raise ValueError(f"groups={groups!r} does not fit C_in={c_in}, weight {weight.shape}")
    if bias is not None and bias.shape != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},), got {bias.shape}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    stride = _loop_ints(stride, nd, "stride")
    dilation = _loop_ints(dilation, nd, "dilation")
    pads = _loop_pads(padding, spatial, kernel, stride, dilation)
    for n, (before, after) in zip(spatial, pads):
        if (padding_mode == "reflect" and max(before, after) >= n
                or padding_mode == "circular" and max(before, after) > n
                or padding_mode == "replicate" and n == 0 and before + after):
            raise ValueError(f"{padding_mode} padding ({before}, {after}) does not fit size {n}")
    out_spatial = tuple(_loop_count(n + b + a, k, s, d)
                        for n, (b, a), k, s, d in zip(spatial, pads, kernel, stride, dilation))
    if min(out_spatial, default=1) < 1:
        raise ValueError(f"the dilated kernel is larger than the padded input {spatial}, {pads}")

    cout_g = c_out // groups
    y = np.zeros((x.shape[0], c_out) + out_spatial)
    for index in np.ndindex(*y.shape):
        n, o, p = index[0], index[1], index[2:]
        g = o // cout_g
        acc = 0.0 if bias is None else float(bias[o])
        for c in range(cin_g):
            for t in np.ndindex(*kernel):
                src = [_walk_to_input(p[dim] * stride[dim] + t[dim] * dilation[dim]
                                      - pads[dim][0], spatial[dim], padding_mode)
                       for dim in range(nd)]
                if None not in src:
                    acc += float(weight[(o, c) + t]) * float(x[(n, g * cin_g + c) + tuple(src)])
        y[index] = acc
    return y if batched else y[0]


def _conv_fixed_nd(nd, x, weight, bias, stride, padding, dilation, groups, padding_mode):
    w = np.asarray(weight)
    if w.ndim != nd + 2:
        raise ValueError(
            f"weight must have {nd + 2} dimensions for conv{nd}d, got shape {w.shape}"
        )
    return conv_nd(x, w, bias, stride, padding, dilation, groups, padding_mode)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """1-D convolution (cross-correlation), computed in float64.

    Parameters
    ----------
    x : array_like
        Input of shape ``(N, C_in, L)`` or unbatched ``(C_in, L)``.
    weight : array_like
        Filters of shape ``(C_out, C_in // groups, k)``.
    bias : array_like, optional
        Shape ``(C_out,)``.
    stride, padding, dilation, groups, padding_mode
        As for :func:`conv_nd`.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(N, C_out, L_out)`` or ``(C_out, L_out)``.

    Raises
    ------
    ValueError
        If the shapes or parameters are inconsistent.
    TypeError
        If an input has a complex, object or string dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import conv1d
    >>> x = np.array([[1.0, 2.0, 3.0, 4.0]])
    >>> w = np.array([[[1.0, 1.0]]])
    >>> conv1d(x, w)
    array([[3., 5., 7.]])
    >>> conv1d(x, w, padding="same", dilation=2)
    array([[2., 4., 6., 3.]])
    """
    return _conv_fixed_nd(1, x, weight, bias, stride, padding, dilation, groups, padding_mode)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """2-D convolution (cross-correlation), computed in float64.

    Parameters
    ----------
    x : array_like
        Input of shape ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
    weight : array_like
        Filters of shape ``(C_out, C_in // groups, kH, kW)``.
    bias : array_like, optional
        Shape ``(C_out,)``.
    stride, padding, dilation, groups, padding_mode
        As for :func:`conv_nd`.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(N, C_out, H_out, W_out)`` or
        ``(C_out, H_out, W_out)``.

    Raises
    ------
    ValueError
        If the shapes or parameters are inconsistent.
    TypeError
        If an input has a complex, object or string dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import conv2d
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> w = np.ones((1, 1, 2, 2))
    >>> conv2d(x, w, stride=2)
    array([[[[10., 18.],
             [42., 50.]]]])
    >>> conv2d(x, w, padding=((0, 1), (0, 0)), padding_mode="reflect").shape
    (1, 1, 4, 3)
    """
    return _conv_fixed_nd(2, x, weight, bias, stride, padding, dilation, groups, padding_mode)


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """3-D convolution (cross-correlation), computed in float64.

    Parameters
    ----------
    x : array_like
        Input of shape ``(N, C_in, D, H, W)`` or unbatched ``(C_in, D, H, W)``.
    weight : array_like
        Filters of shape ``(C_out, C_in // groups, kD, kH, kW)``.
    bias : array_like, optional
        Shape ``(C_out,)``.
    stride, padding, dilation, groups, padding_mode
        As for :func:`conv_nd`.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(N, C_out, D_out, H_out, W_out)`` or
        ``(C_out, D_out, H_out, W_out)``.

    Raises
    ------
    ValueError
        If the shapes or parameters are inconsistent.
    TypeError
        If an input has a complex, object or string dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import conv3d
    >>> x = np.ones((2, 3, 3, 3))
    >>> w = np.ones((4, 1, 2, 2, 2))
    >>> y = conv3d(x, w, bias=np.arange(4.0), groups=2)
    >>> y.shape
    (4, 2, 2, 2)
    >>> y[:, 0, 0, 0]
    array([ 8.,  9., 10., 11.])
    """
    return _conv_fixed_nd(3, x, weight, bias, stride, padding, dilation, groups, padding_mode)
