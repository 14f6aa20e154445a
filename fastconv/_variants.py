"""Depthwise, depthwise-separable, spatially separable and octave convolutions.

Each variant is a parametrisation or a composition of the ordinary 2-D
convolution pipeline (:mod:`fastconv._args` -> :mod:`fastconv._dispatch` ->
one kernel), so every algorithm of :func:`fastconv.conv2d` serves it:

* :func:`depthwise_conv2d` is ``conv2d(..., groups=C)``, which runs the
  depthwise direct kernel;
* :func:`separable_conv2d` runs the fused kernel of
  :mod:`fastconv._kernels._separable` (depthwise result produced and consumed
  band by band) when the depthwise stage runs the direct algorithm, and the
  two stages one after the other otherwise;
* :func:`spatially_separable_conv2d` is a ``(kh, 1)`` then a ``(1, kw)``
  convolution, each stage given the stride, padding and dilation of its axis;
* :func:`octave_conv2d` combines four convolutions at two resolutions, with
  the two paths into the low-frequency output done as one convolution over
  the concatenated inputs and the nearest upsampling added into the
  high-frequency output in place.
"""
import dataclasses
import numbers

import numpy as np

from fastconv import _complex
from fastconv._args import (as_array, check_algorithm, check_out, compute_dtype, direct_out,
                            explicit_padding, is_int, kernel_padding, output_spatial, per_dim,
                            prepare_conv)
from fastconv._dispatch import isa_level, note_choice, run_conv
from fastconv._kernels import _separable
from fastconv._threads import get_num_threads
from fastconv.functional import conv2d

__all__ = ["depthwise_conv2d", "separable_conv2d", "spatially_separable_conv2d", "separate",
           "octave_conv2d", "octave_split", "octave_merge"]


def input_channels(x, name="input"):
    """Validate a 4-D (batched) or 3-D (unbatched) channels-first input; return C."""
    if x.ndim not in (3, 4):
        raise ValueError(f"{name} must have 4 dims (N, C, H, W) or 3 dims (C, H, W), got "
                         f"{name} of shape {x.shape}")
    return int(x.shape[-3])


def check_depthwise_weight(weight, c_in, name):
    if (weight.ndim != 4 or weight.shape[1] != 1 or weight.shape[0] == 0
            or c_in == 0 or weight.shape[0] % c_in):
        raise ValueError(
            f"{name} must have shape (C * m, 1, kh, kw) for an input of C = {c_in} channels "
            f"(m >= 1, the channel multiplier), got {name} of shape {weight.shape}")
    return weight.shape[0] // c_in


# --------------------------------------------------------------------------
# depthwise
# --------------------------------------------------------------------------
def depthwise_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, *,
                     padding_mode="zeros", algorithm="auto", out=None):
    """Depthwise 2-D convolution: each input channel filtered on its own.

    With ``C`` input channels and a channel multiplier ``m``, output channel
    ``c * m + j`` is input channel ``c`` convolved with filter ``c * m + j``::

        y[n, c*m + j, p, q] = bias[c*m + j] + sum_{u, v} weight[c*m + j, 0, u, v]
                              * x_pad[n, c, p*sh + u*dh, q*sw + v*dw]

    the same result as ``conv2d(x, weight, bias, ..., groups=C)``, which is
    how it is computed (fastconv's depthwise direct kernel).

    Parameters
    ----------
    x : array_like
        Input ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
    weight : array_like
        Filters ``(C * m, 1, kh, kw)``.
    bias : array_like, optional
        Shape ``(C * m,)``.
    stride, padding, dilation, padding_mode, out
        As in :func:`fastconv.conv2d`.
    algorithm : {'auto', 'direct', 'im2col', 'winograd'}, default 'auto'
        As in :func:`fastconv.conv2d` ('winograd' needs stride 1 and 3 or 1
        taps per axis).

    Returns
    -------
    ndarray
        ``(N, C * m, out_h, out_w)`` (unbatched if ``x`` was), sizes as in
        :func:`fastconv.conv2d`.

    Raises
    ------
    ValueError
        When ``weight`` is not ``(C * m, 1, kh, kw)`` for the input's ``C``,
        and for every error of :func:`fastconv.conv2d`.
    TypeError
        For non-numeric dtypes.

    See Also
    --------
    fastconv.conv2d : the general convolution (``groups=C`` is this one).
    fastconv.separable_conv2d : depthwise followed by a pointwise convolution.
    fastconv.reference.depthwise_conv2d : the float64 definition.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> x = np.ones((1, 3, 5, 5), dtype=np.float32)
    >>> w = np.ones((6, 1, 3, 3), dtype=np.float32)       # m = 2
    >>> y = fastconv.depthwise_conv2d(x, w, padding=1)
    >>> y.shape, float(y[0, 0, 2, 2]), float(y[0, 5, 0, 0])
    ((1, 6, 5, 5), 9.0, 4.0)
    """
    xa = _complex.as_any_array(x, "input")
    wa = _complex.as_any_array(weight, "weight")
    c_in = input_channels(xa)
    check_depthwise_weight(wa, c_in, "weight")
    return conv2d(x, weight, bias, stride, padding, dilation, c_in,
                  padding_mode=padding_mode, algorithm=algorithm, out=out)


# --------------------------------------------------------------------------
# depthwise-separable
# --------------------------------------------------------------------------
def check_separable(xa, depthwise_weight, pwa, ba, stride, padding, dilation, padding_mode,
                    algorithm, convert_input=True):
    """Validate a separable_conv2d call (``xa``, ``pwa``, ``ba``: arrays).

    Returns ``(problem, x, depthwise_weight, dtype)``: the depthwise stage's
    problem and arrays from :func:`fastconv._args.prepare_conv` (``x`` as
    given with ``convert_input=False``) and the dtype of the whole call.
    """
    dwa = as_array(depthwise_weight, "depthwise_weight")
    check_algorithm(algorithm)
    c_in = input_channels(xa)
    m = check_depthwise_weight(dwa, c_in, "depthwise_weight")
    cm = c_in * m
    if pwa.ndim != 4 or pwa.shape[1:] != (cm, 1, 1) or pwa.shape[0] == 0:
        raise ValueError(
            f"pointwise_weight must have shape (C_out, C * m, 1, 1) = (C_out, {cm}, 1, 1) "
            f"for depthwise_weight of shape {dwa.shape} (C = {c_in}, m = {m}), got "
            f"pointwise_weight of shape {pwa.shape}")
    c_out = int(pwa.shape[0])
    if ba is not None and ba.shape != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},) (one value per output channel of "
                         f"pointwise_weight), got {ba.shape}")
    dtype = compute_dtype(*[a for a in (xa, dwa, pwa, ba) if a is not None])
    problem, xb, wd, _, _ = prepare_conv(2, xa, dwa, None, stride, padding, dilation, c_in,
                                         padding_mode, algorithm, None,
                                         convert_input=convert_input)
    return problem, xb, wd, dtype


def separable_conv2d(x, depthwise_weight, pointwise_weight, bias=None, stride=1, padding=0,
                     dilation=1, *, padding_mode="zeros", algorithm="auto", out=None):
    """Depthwise-separable 2-D convolution (Xception, MobileNet), fused.

    A depthwise convolution (channel multiplier ``m``) followed by a
    pointwise (1x1) convolution and the bias::

        z = depthwise_conv2d(x, depthwise_weight, None, stride, padding, dilation)
        y[n, o] = bias[o] + sum_k pointwise_weight[o, k, 0, 0] * z[n, k]

    Keras's ``SeparableConv2D`` with ``depth_multiplier=m``. The intermediate
    ``z`` is not materialised: bands of output rows are computed for all
    ``C * m`` channels into a per-thread tile that stays in cache and are
    multiplied at once with the pointwise weights (a GEMM), so the call needs
    far less memory than the two convolutions one after the other, and is
    faster.

    Complex arrays (complex64, complex128, any of them, mixed with real ones as NumPy
    promotes them) are accepted with PyTorch's semantics (no conjugation), computed by
    the fused kernel: three runs (Gauss's form in the input and the depthwise weights),
    each giving both parts of the pointwise stage.

    Parameters
    ----------
    x : array_like
        Input ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
    depthwise_weight : array_like
        ``(C * m, 1, kh, kw)``.
    pointwise_weight : array_like
        ``(C_out, C * m, 1, 1)``.
    bias : array_like, optional
        Shape ``(C_out,)``, added after the pointwise stage.
    stride, padding, dilation, padding_mode
        Of the depthwise stage, as in :func:`fastconv.conv2d`.
    algorithm : {'auto', 'direct', 'im2col', 'winograd'}, default 'auto'
        Algorithm of the depthwise stage. 'auto' and 'direct' run the fused
        kernel; 'im2col' and 'winograd' compute the depthwise stage with that
        algorithm of :func:`fastconv.conv2d` (with its rules: 'winograd' needs
        stride 1 and a 3 x 3, 3 x 1 or 1 x 3 kernel) and then the pointwise
        stage with 'auto' (unfused).
    out : ndarray, optional
        Array of the result's shape and dtype to write into.

    Returns
    -------
    ndarray
        ``(N, C_out, out_h, out_w)`` (unbatched if ``x`` was); the output sizes
        are those of the depthwise stage.

    Raises
    ------
    ValueError
        When ``depthwise_weight`` is not ``(C * m, 1, kh, kw)``,
        ``pointwise_weight`` not ``(C_out, C * m, 1, 1)`` or ``bias`` not
        ``(C_out,)``, and for every error of :func:`fastconv.conv2d`.
    TypeError
        For non-numeric dtypes.

    See Also
    --------
    fastconv.depthwise_conv2d : the first stage alone.
    fastconv.reference.separable_conv2d : the float64 definition.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((1, 8, 20, 20)).astype(np.float32)
    >>> dw = rng.standard_normal((8, 1, 3, 3)).astype(np.float32)
    >>> pw = rng.standard_normal((16, 8, 1, 1)).astype(np.float32)
    >>> y = fastconv.separable_conv2d(x, dw, pw, padding=1)
    >>> y.shape
    (1, 16, 20, 20)
    >>> two_calls = fastconv.conv2d(fastconv.depthwise_conv2d(x, dw, padding=1), pw)
    >>> bool(np.allclose(y, two_calls, rtol=1e-5, atol=1e-5))
    True
    """
    if _complex.is_complex(x, depthwise_weight, pointwise_weight, bias):
        return _complex_separable(x, depthwise_weight, pointwise_weight, bias, stride, padding,
                                  dilation, padding_mode, algorithm, out)
    xa = as_array(x, "input")
    pwa = as_array(pointwise_weight, "pointwise_weight")
    ba = None if bias is None else as_array(bias, "bias")
    problem, xb, wd, dtype = check_separable(xa, depthwise_weight, pwa, ba, stride, padding,
                                             dilation, padding_mode, algorithm)
    c_out, cm = int(pwa.shape[0]), int(pwa.shape[1])
    if xb.dtype != dtype:        # a float64 pointwise weight or bias promotes the whole call
        xb = xb.astype(dtype)
        wd = wd.astype(dtype)
    out_shape = ((problem.n,) if problem.batched else ()) + (c_out,) + problem.out_spatial
    if out is not None:
        check_out(out, out_shape, dtype, [("input", x), ("depthwise_weight", depthwise_weight),
                                          ("pointwise_weight", pointwise_weight),
                                          ("bias", bias)])
    pw2 = np.ascontiguousarray(pwa.reshape(c_out, cm), dtype=dtype)
    b = None if ba is None else np.ascontiguousarray(ba, dtype=dtype)

    if algorithm in ("auto", "direct"):
        result = out if out is not None and direct_out(out) else np.empty(out_shape, dtype)
        r4 = result.reshape((problem.n, c_out) + problem.out_spatial)
        if r4.size:
            note_choice("direct")       # the fused kernel is the direct algorithm here
            _separable.separable(xb, wd, pw2, b, r4, problem.stride, kernel_padding(problem),
                                 problem.dilation, get_num_threads(), isa_level())
        if out is not None and result is not out:
            out[...] = result
            return out
        return result
    # Unfused: the depthwise stage with the requested algorithm, then the GEMM.
    mid_shape = (problem.n, cm) + problem.out_spatial
    mid = np.empty(mid_shape, dtype)
    problem = dataclasses.replace(problem, dtype=dtype, batched=True)
    run_conv(problem, xb, wd, None, mid)
    pw_problem, mid, pw4, b, _ = prepare_conv(2, mid, pw2.reshape(c_out, cm, 1, 1), b, 1, 0, 1,
                                              1, "zeros", "auto", None)
    result = run_conv(pw_problem, mid, pw4, b, None)
    if xa.ndim == 3:
        result = result[0]
    if out is not None:
        out[...] = result
        return out
    return result


def _complex_separable(x, depthwise_weight, pointwise_weight, bias, stride, padding, dilation,
                       padding_mode, algorithm, out):
    """:func:`separable_conv2d` with a complex argument (PyTorch's convention,
    no conjugation), composed of real fused calls.

    The call is bilinear in the input and the depthwise weights: Gauss's three
    real products of their parts (:func:`fastconv._complex.bilinear`). Each
    real product is one fused call whose pointwise weights are the real and
    the imaginary part of ``pointwise_weight`` stacked as output channels
    (one band of depthwise results serves both), read back as one complex
    array.
    """
    xa = _complex.as_any_array(x, "input")
    dwa = _complex.as_any_array(depthwise_weight, "depthwise_weight")
    pwa = _complex.as_any_array(pointwise_weight, "pointwise_weight")
    ba = None if bias is None else _complex.as_any_array(bias, "bias")
    dtype = _complex.result_dtype(xa, dwa, pwa, ba)
    # The real call's checks, on the parts (views; the input is not converted).
    problem, _, _, _ = check_separable(xa.real, dwa.real, pwa.real,
                                       None if ba is None else ba.real, stride, padding,
                                       dilation, padding_mode, algorithm, convert_input=False)
    c_out = int(pwa.shape[0])
    out_shape = ((problem.n,) if problem.batched else ()) + (c_out,) + problem.out_spatial
    if out is not None:
        check_out(out, out_shape, dtype, [("input", x), ("depthwise_weight", depthwise_weight),
                                          ("pointwise_weight", pointwise_weight),
                                          ("bias", bias)])
    pr, pi = _complex.parts(pwa.astype(_complex.part_dtype(pwa, dtype), copy=False))
    stacked = pr if pi is None else np.concatenate([pr, pi])

    def product(xr, dr, fill):
        y = separable_conv2d(xr, dr, stacked, None, stride, padding, dilation,
                             padding_mode=padding_mode, algorithm=algorithm)
        if pi is None:
            return y
        res = np.empty(out_shape, dtype)
        res.real = y[..., :c_out, :, :]
        res.imag = y[..., c_out:, :, :]
        return res

    res = _complex.compose(product, xa.astype(_complex.part_dtype(xa, dtype), copy=False),
                           dwa.astype(_complex.part_dtype(dwa, dtype), copy=False),
                           convention="pytorch", names=("input", "depthwise_weight"),
                           bias=ba, channel_axis=-3)
    if out is None:
        return res
    out[...] = res
    return out


# --------------------------------------------------------------------------
# spatially separable
# --------------------------------------------------------------------------
def spatially_separable_conv2d(x, column_weight, row_weight, bias=None, stride=1, padding=0,
                               dilation=1, groups=1, *, padding_mode="zeros", algorithm="auto",
                               out=None):
    """Spatially separable 2-D convolution: a column ``(kh, 1)`` then a row ``(1, kw)`` filter.

    The two stages compute the convolution with the ``(kh, kw)`` kernel
    ``W[o, c, u, v] = sum_k row_weight[o, k, 0, v] * column_weight[k, c, u, 0]``
    (``k`` over the middle channels of ``o``'s group) in
    ``kh + kw`` instead of ``kh * kw`` multiply-adds per channel pair::

        z = conv2d(x, column_weight, None, (sh, 1), ((ph0, ph1), (0, 0)), (dh, 1), groups)
        y = conv2d(z, row_weight, bias, (1, sw), ((0, 0), (pw0, pw1)), (1, dw), groups)

    Each stage gets the stride, padding and dilation of the axis it works on:
    the column stage the vertical ones, the row stage the horizontal ones.
    'same' padding is worked out for the whole ``(kh, kw)`` kernel on the
    input's size; the padding modes give what the ``(kh, kw)`` convolution
    with that mode gives.

    Complex arrays (complex64, complex128, any of them, mixed with real ones as NumPy
    promotes them) are accepted with PyTorch's semantics (no conjugation): each stage is
    a complex convolution (a stage of real arrays stays real).

    Parameters
    ----------
    x : array_like
        Input ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
    column_weight : array_like
        ``(C_mid, C_in // groups, kh, 1)``.
    row_weight : array_like
        ``(C_out, C_mid // groups, 1, kw)``.
    bias : array_like, optional
        Shape ``(C_out,)``, added after the row stage.
    stride, padding, dilation : int, tuple or str
        As in :func:`fastconv.conv2d`, per axis ``(vertical, horizontal)``.
    groups : int, default 1
        Groups of both stages.
    padding_mode, out
        As in :func:`fastconv.conv2d`.
    algorithm : {'auto', 'direct', 'im2col', 'winograd'}, default 'auto'
        As in :func:`fastconv.conv2d`, for both stages (so 'winograd' needs
        ``kh = kw = 3`` and stride 1).

    Returns
    -------
    ndarray
        ``(N, C_out, out_h, out_w)`` (unbatched if ``x`` was), the sizes of a
        convolution with a ``(kh, kw)`` kernel.

    Raises
    ------
    ValueError
        When ``column_weight`` is not ``(C_mid, C_in // groups, kh, 1)``,
        ``row_weight`` not ``(C_out, C_mid // groups, 1, kw)``, and for every
        error of :func:`fastconv.conv2d`.
    TypeError
        For non-numeric dtypes.

    See Also
    --------
    fastconv.separate : factorise a rank-1 2-D kernel into column and row.
    fastconv.reference.spatially_separable_conv2d : the float64 definition.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> x = np.arange(36.0).reshape(1, 1, 6, 6)
    >>> col = np.array([1.0, 2.0, 1.0]).reshape(1, 1, 3, 1)
    >>> row = np.array([1.0, 0.0, -1.0]).reshape(1, 1, 1, 3)
    >>> y = fastconv.spatially_separable_conv2d(x, col, row, padding=1)
    >>> sobel = (col[0, 0, :, 0, None] * row[0, 0, 0, None, :])[None, None]
    >>> bool(np.allclose(y, fastconv.conv2d(x, sobel, padding=1)))
    True
    """
    xa = _complex.as_any_array(x, "input")
    cw = _complex.as_any_array(column_weight, "column_weight")
    rw = _complex.as_any_array(row_weight, "row_weight")
    input_channels(xa)
    if not is_int(groups) or groups <= 0:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    if cw.ndim != 4 or cw.shape[3] != 1:
        raise ValueError(f"column_weight must have shape (C_mid, C_in // groups, kh, 1), got "
                         f"column_weight of shape {cw.shape}")
    if rw.ndim != 4 or rw.shape[2] != 1:
        raise ValueError(f"row_weight must have shape (C_out, C_mid // groups, 1, kw), got "
                         f"row_weight of shape {rw.shape}")
    if rw.shape[1] * groups != cw.shape[0]:
        raise ValueError(
            f"row_weight of shape {rw.shape} with groups={groups} expects C_mid = "
            f"{rw.shape[1]} * {groups} = {rw.shape[1] * groups} middle channels, but "
            f"column_weight of shape {cw.shape} makes C_mid = {cw.shape[0]}")
    kh, kw = int(cw.shape[2]), int(rw.shape[3])
    in_spatial = tuple(int(s) for s in xa.shape[-2:])
    sh, sw = per_dim(stride, 2, "stride", 1)
    dh, dw = per_dim(dilation, 2, "dilation", 1)
    before, after = explicit_padding(padding, 2, in_spatial, (kh, kw), (sh, sw), (dh, dw))
    output_spatial(in_spatial, (kh, kw), (sh, sw), (dh, dw), before, after)   # validates
    ba = None if bias is None else _complex.as_any_array(bias, "bias")
    dtype = _complex.whole_dtype(xa, cw, rw, ba)
    # Both stages compute in the dtype of the whole call (complex arrays in its
    # complex dtype: a complex stage is composed of real ones, a real
    # intermediate stays real).
    xa = xa.astype(_complex.part_dtype(xa, dtype), copy=False)
    z = conv2d(xa, cw, None, (sh, 1), ((before[0], after[0]), (0, 0)), (dh, 1), groups,
               padding_mode=padding_mode, algorithm=algorithm)
    z = z.astype(_complex.part_dtype(z, dtype), copy=False)
    return conv2d(z, rw, bias, (1, sw), ((0, 0), (before[1], after[1])), (1, dw), groups,
                  padding_mode=padding_mode, algorithm=algorithm, out=out)


# --------------------------------------------------------------------------
# separate
# --------------------------------------------------------------------------
def _integer_factors(k):
    """Exact integer (column, row) of an integer-valued rank-1 kernel, or None."""
    if not np.all(np.isfinite(k)) or np.max(np.abs(k), initial=0) >= 2.0 ** 52:
        return None
    if not np.array_equal(k, np.round(k)):
        return None
    ki = k.astype(np.int64)
    i = int(np.argmax(np.abs(ki).sum(axis=1)))         # the row of largest norm
    r = ki[i]
    g = int(np.gcd.reduce(np.abs(r)))
    if g == 0:
        return None
    row = r // g
    row = row * _sign_of_first_largest(row)
    j = int(np.argmax(np.abs(row)))
    if np.any(ki[:, j] % row[j]):
        return None
    col = ki[:, j] // row[j]
    if not np.array_equal(np.outer(col, row), ki):
        return None
    return col, row


def _sign_of_first_largest(v):
    j = int(np.argmax(np.abs(v)))
    return -1 if v[j] < 0 else 1


def separate(kernel, rtol=1e-6):
    """Factorise a rank-1 2-D kernel into a column and a row filter.

    Returns ``(column, row)`` with ``np.outer(column, row) == kernel`` (within
    ``rtol``), so that convolving with ``kernel`` equals convolving with
    ``column`` along the vertical axis and then ``row`` along the horizontal
    one (see :func:`fastconv.spatially_separable_conv2d`).

    The factors are defined only up to a scale ``s``: ``(s * column, row / s)``
    is another factorisation. The one returned is:

    * for an integer-valued kernel, exact integers (stored in the float
      dtype): ``row`` is the kernel's row of largest sum of magnitudes divided
      by the greatest common divisor of its entries, and ``column`` the
      integer multiples (so ``[[3, 6, 9], [4, 8, 12], [5, 10, 15]]`` gives
      ``[3, 4, 5]`` and ``[1, 2, 3]``);
    * otherwise, from the singular value decomposition ``kernel = s0 u0 v0^T
      + ...``: ``column = sqrt(s0) u0`` and ``row = sqrt(s0) v0`` (both of
      norm ``sqrt(s0)``, so a symmetric kernel like ``outer(g, g)`` gives
      ``g, g``);
    * in both cases the sign makes the first entry of largest magnitude of
      ``row`` positive. A kernel of zeros gives two vectors of zeros.

    Parameters
    ----------
    kernel : array_like
        A 2-D ``(kh, kw)`` array (integer and bool kernels are factorised in
        float64, float32 stays float32).
    rtol : float, default 1e-6
        The kernel counts as rank 1 when its second singular value is at most
        ``rtol`` times the first.

    Returns
    -------
    column : ndarray
        Shape ``(kh,)``.
    row : ndarray
        Shape ``(kw,)``.

    Raises
    ------
    ValueError
        If ``kernel`` is not 2-D, is empty or not finite, ``rtol`` is negative,
        or the kernel is not of rank 1 within ``rtol`` (the message gives the
        second singular value and the bound).
    TypeError
        For non-numeric dtypes.

    See Also
    --------
    fastconv.spatially_separable_conv2d : convolve with the two factors.
    numpy.linalg.svd : the decomposition used.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> col, row = fastconv.separate([[3, 6, 9], [4, 8, 12], [5, 10, 15]])
    >>> col, row
    (array([3., 4., 5.]), array([1., 2., 3.]))
    >>> sobel_x = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    >>> fastconv.separate(sobel_x)
    (array([1., 2., 1.]), array([ 1.,  0., -1.]))
    >>> g = np.array([0.25, 0.5, 0.25])
    >>> col, row = fastconv.separate(np.outer(g, g))
    >>> bool(np.allclose(col, g) and np.allclose(row, g))
    True
    """
    k = as_array(kernel, "kernel")
    if k.ndim != 2 or k.size == 0:
        raise ValueError(f"kernel must be a non-empty 2-D array (kh, kw), got shape {k.shape}")
    if not isinstance(rtol, numbers.Real) or not rtol >= 0:
        raise ValueError(f"rtol must be a non-negative number, got {rtol!r}")
    dtype = compute_dtype(k)
    k64 = k.astype(np.float64)
    if not np.all(np.isfinite(k64)):
        raise ValueError("kernel contains NaN or infinity: it cannot be factorised")
    exact = _integer_factors(k64)
    if exact is not None:
        return exact[0].astype(dtype), exact[1].astype(dtype)
    u, s, vt = np.linalg.svd(k64)
    if s[0] == 0:
        return np.zeros(k.shape[0], dtype), np.zeros(k.shape[1], dtype)
    s1 = s[1] if s.size > 1 else 0.0
    if s1 > rtol * s[0]:
        raise ValueError(f"kernel is not separable (rank 1) within rtol={rtol}: its second "
                         f"singular value {s1:.6g} is larger than rtol * {s[0]:.6g} (the "
                         f"first) = {rtol * s[0]:.6g}")
    root = np.sqrt(s[0])
    col, row = u[:, 0] * root, vt[0] * root
    sign = _sign_of_first_largest(row)
    return (col * sign).astype(dtype), (row * sign).astype(dtype)


# --------------------------------------------------------------------------
# octave
# --------------------------------------------------------------------------
def avgpool2(x, out=None):
    """2x2 average pooling of the last two (even) axes, in one pass."""
    s = x.shape
    v = x.reshape(s[:-2] + (s[-2] // 2, 2, s[-1] // 2, 2))
    out = np.add(v[..., 0, :, 0], v[..., 0, :, 1], out=out)
    out += v[..., 1, :, 0]
    out += v[..., 1, :, 1]
    out *= 0.25
    return out


def _add_upsampled(y, z):
    """``y += upsample_nearest_2x(z)`` in place.

    Only the horizontal repetition is built (half of ``y``'s size); the
    vertical one is a broadcast, so each output row is one contiguous add
    (three times faster than broadcasting both axes).
    """
    s = y.shape
    v = y.reshape(s[:-2] + (s[-2] // 2, 2, s[-1]))
    v += np.repeat(z, 2, axis=-1)[..., :, None, :]


def _even(size, name, what):
    if any(v % 2 for v in size):
        raise ValueError(f"{name} has spatial size {size}, which must be even: {what}")


def octave_conv2d(x_high, x_low, w_hh, w_hl, w_lh, w_ll, bias_high=None, bias_low=None,
                  stride=1, padding=0, *, algorithm="auto"):
    """Octave convolution (Chen et al. 2019, "Drop an Octave").

    The feature maps are split into a high-frequency part at full resolution
    and a low-frequency part at half resolution; four convolutions exchange
    information between them::

        y_high = conv(x_high, w_hh) + upsample_nearest_2x(conv(x_low, w_lh)) + bias_high
        y_low  = conv(x_low, w_ll) + conv(avgpool_2x2(x_high), w_hl) + bias_low

    (``conv`` with the given ``padding``, stride 1). With ``stride=2`` both
    inputs are first average-pooled 2x2, as in the paper. A first layer
    (``alpha_in = 0``) has no ``x_low``, ``w_lh`` or ``w_ll``; a last layer
    (``alpha_out = 0``) has no ``w_hl`` or ``w_ll`` and no low output.

    The two terms of ``y_low`` are computed as one convolution over the
    concatenated inputs ``[x_low, avgpool(x_high)]`` (the pooled input is
    written straight into that buffer), and the upsampled low-to-high term is
    added into ``y_high`` in place (the upsampled array is never built).

    Complex arrays (complex64, complex128, any of them, mixed with real ones as NumPy
    promotes them) are accepted with PyTorch's semantics (no conjugation): each path is
    a complex convolution (a path of real arrays stays real).

    Parameters
    ----------
    x_high : array_like
        ``(N, C_hi, H, W)`` or unbatched ``(C_hi, H, W)``.
    x_low : array_like or None
        ``(N, C_li, H/2, W/2)`` (unbatched if ``x_high`` is), or None.
    w_hh : array_like
        ``(C_ho, C_hi, kh, kw)``: high to high.
    w_hl : array_like or None
        ``(C_lo, C_hi, kh, kw)``: high to low; None when there is no low output.
    w_lh : array_like or None
        ``(C_ho, C_li, kh, kw)``: low to high; None exactly when ``x_low`` is.
    w_ll : array_like or None
        ``(C_lo, C_li, kh, kw)``: low to low; given exactly when ``x_low`` and
        ``w_hl`` are.
    bias_high, bias_low : array_like, optional
        Shapes ``(C_ho,)`` and ``(C_lo,)``.
    stride : {1, 2}, default 1
        2 average-pools both inputs 2x2 before the convolutions.
    padding : int, pair of ints, 'valid' or 'same', default 0
        Zero padding of every path. The low-to-high path's output, upsampled,
        must be as large as the high one, which holds for 'same' padding and
        for ``padding = (k - 1) / 2`` with odd ``k``.
    algorithm : {'auto', 'direct', 'im2col', 'winograd'}, default 'auto'
        As in :func:`fastconv.conv2d`, for every path (all of stride 1:
        'winograd' needs a 3 x 3, 3 x 1 or 1 x 3 kernel).

    Returns
    -------
    y_high : ndarray
        ``(N, C_ho, H', W')``.
    y_low : ndarray or None
        ``(N, C_lo, H'/2, W'/2)``, or None without ``w_hl``.

    Raises
    ------
    ValueError
        For a missing or superfluous weight, channel counts that disagree
        between the inputs and the four weights, kernels of different sizes,
        an ``x_low`` not half the size of ``x_high``, an odd size where a 2x2
        pooling is needed (``x_high`` with a low output, both inputs with
        ``stride=2``), a stride other than 1 or 2, or a padding under which the
        upsampled low-to-high output does not match the high one.
    TypeError
        For non-numeric dtypes.

    See Also
    --------
    fastconv.octave_split : make ``(x_high, x_low)`` from an ordinary tensor.
    fastconv.octave_merge : back to one tensor at full resolution.
    fastconv.reference.octave_conv2d : the float64 definition.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((1, 8, 16, 16)).astype(np.float32)
    >>> xh, xl = fastconv.octave_split(x, 0.5)          # 4 channels each
    >>> xh.shape, xl.shape
    ((1, 4, 16, 16), (1, 4, 8, 8))
    >>> w = lambda o, i: rng.standard_normal((o, i, 3, 3)).astype(np.float32)
    >>> yh, yl = fastconv.octave_conv2d(xh, xl, w(6, 4), w(2, 4), w(6, 4), w(2, 4),
    ...                                 padding=1)
    >>> yh.shape, yl.shape
    ((1, 6, 16, 16), (1, 2, 8, 8))
    >>> yh, yl = fastconv.octave_conv2d(xh, None, w(6, 4), None, None, None, padding=1)
    >>> yh.shape, yl is None
    ((1, 6, 16, 16), True)
    """
    problem, xh, xl, ws = prepare_octave(x_high, x_low, w_hh, w_hl, w_lh, w_ll, bias_high,
                                         bias_low, stride, padding, algorithm)
    dtype = problem.dtype

    def part(a):
        # Complex arrays in the call's complex dtype, real ones in its real
        # dtype: a path with a real input and real weights stays real.
        return np.ascontiguousarray(a, dtype=_complex.part_dtype(a, dtype))
    xh = part(xh)
    if problem.low_in:
        xl = part(xl)
    if problem.stride == 2:
        xh = avgpool2(xh)
        if problem.low_in:
            xl = avgpool2(xl)
    ws = {nm: None if w is None else part(w) for nm, w in ws.items()}
    y_high = conv2d(xh, ws["w_hh"], bias_high, 1, problem.pad_high, algorithm=algorithm)
    y_high = y_high.astype(dtype, copy=False)
    y_low = None
    if problem.low_in:
        z = conv2d(xl, ws["w_lh"], None, 1, problem.pad_low, algorithm=algorithm)
        _add_upsampled(y_high, z)
    if problem.low_out:
        c_li, c_hi = problem.c_li, problem.c_hi
        both = np.empty(xh.shape[:-3] + (c_li + c_hi,) + problem.low_size,
                        np.result_type(xh, xl) if problem.low_in else xh.dtype)
        if problem.low_in:
            both[..., :c_li, :, :] = xl
        avgpool2(xh, out=both[..., c_li:, :, :])
        w_low = ws["w_hl"]
        if problem.low_in:
            w_low = np.concatenate([ws["w_ll"], w_low], axis=1)
        y_low = conv2d(both, w_low, bias_low, 1, problem.pad_low, algorithm=algorithm)
        y_low = y_low.astype(dtype, copy=False)
    return y_high, y_low


OCTAVE_WEIGHTS = ("w_hh", "w_hl", "w_lh", "w_ll")


@dataclasses.dataclass(frozen=True)
class OctaveProblem:
    """A validated octave convolution (see :func:`prepare_octave`).

    ``size`` is the high-frequency size the convolutions see (after the 2x2
    pooling of ``stride=2``), ``low_size`` half of it; ``pad_high`` and
    ``pad_low`` the ``(before, after)`` pairs of each resolution's
    convolutions, ``out_high`` and ``out_low`` their output sizes. Channel
    counts of an absent part are 0.
    """

    batched: bool
    n: int
    low_in: bool
    low_out: bool
    stride: int
    kernel: tuple
    c_hi: int
    c_li: int
    c_ho: int
    c_lo: int
    size: tuple
    low_size: tuple
    pad_high: tuple
    pad_low: tuple
    out_high: tuple
    out_low: tuple
    dtype: np.dtype

    @property
    def high_shape(self):
        """The shape of ``y_high``."""
        return ((self.n,) if self.batched else ()) + (self.c_ho,) + self.out_high

    @property
    def low_shape(self):
        """The shape of ``y_low`` (None without a low output)."""
        if not self.low_out:
            return None
        return ((self.n,) if self.batched else ()) + (self.c_lo,) + self.out_low


def prepare_octave(x_high, x_low, w_hh, w_hl, w_lh, w_ll, bias_high, bias_low, stride,
                   padding, algorithm):
    """Validate an :func:`octave_conv2d` call.

    Returns
    -------
    problem : OctaveProblem
    x_high, x_low : ndarray or None
        The inputs as arrays (not converted).
    weights : dict
        ``w_hh``, ``w_hl``, ``w_lh``, ``w_ll`` as arrays (None where absent).
    """
    check_algorithm(algorithm)
    xh = _complex.as_any_array(x_high, "x_high")
    input_channels(xh, "x_high")
    ws = {nm: (None if v is None else _complex.as_any_array(v, nm))
          for nm, v in zip(OCTAVE_WEIGHTS, (w_hh, w_hl, w_lh, w_ll))}
    if ws["w_hh"] is None:
        raise ValueError("w_hh is required (the high-to-high path always exists)")
    xl = None if x_low is None else _complex.as_any_array(x_low, "x_low")
    low_in = xl is not None
    low_out = ws["w_hl"] is not None or ws["w_ll"] is not None
    _check_octave_weights(ws, low_in, low_out)
    c_hi, c_ho = int(xh.shape[-3]), int(ws["w_hh"].shape[0])
    c_li = int(xl.shape[-3]) if low_in else 0
    c_lo = int(ws["w_hl"].shape[0]) if low_out else 0
    _check_octave_channels(xh, xl, ws, c_hi, c_li, c_ho, c_lo)
    for nm, b, c in (("bias_high", bias_high, c_ho), ("bias_low", bias_low, c_lo)):
        if b is None:
            continue
        if not low_out and nm == "bias_low":
            raise ValueError(f"{nm} is given, but there is no low output (w_hl is None)")
        if np.shape(b) != (c,):
            raise ValueError(f"{nm} must have shape ({c},), got {np.shape(b)}")
    if not is_int(stride) or stride not in (1, 2):
        raise ValueError(f"stride must be 1 or 2 (2: 2x2 average pooling of both inputs "
                         f"first), got {stride!r}")
    size = _octave_size(xh, xl, stride, low_out)
    kernel = ws["w_hh"].shape[2:]
    low_size = (size[0] // 2, size[1] // 2)
    pad_high, out_high = _octave_padding(padding, size, kernel)
    pad_low = out_low = ()
    if low_in or low_out:
        pad_low, out_low = _octave_padding(padding, low_size, kernel)
        if low_in and tuple(2 * v for v in out_low) != out_high:
            raise ValueError(
                f"padding={padding!r} does not keep the octaves aligned: the high-to-high "
                f"output is {out_high}, the low-to-high output upsampled 2x is "
                f"{tuple(2 * v for v in out_low)}; use 'same' or padding (k - 1) // 2 with an "
                f"odd kernel")
    arrays = [a for a in (xh, xl) + tuple(ws.values()) if a is not None]
    arrays += [_complex.as_any_array(b, nm)
               for nm, b in (("bias_high", bias_high), ("bias_low", bias_low)) if b is not None]
    batched = xh.ndim == 4
    problem = OctaveProblem(
        batched=batched, n=int(xh.shape[0]) if batched else 1, low_in=low_in,
        low_out=low_out, stride=int(stride), kernel=kernel, c_hi=c_hi, c_li=c_li, c_ho=c_ho,
        c_lo=c_lo, size=size, low_size=low_size, pad_high=pad_high, pad_low=pad_low,
        out_high=out_high, out_low=out_low, dtype=_complex.whole_dtype(*arrays))
    return problem, xh, xl, ws


def _check_octave_weights(ws, low_in, low_out):
    """Each weight given exactly when its path exists; 4-D; one kernel size."""
    needed = {"w_hh": True, "w_hl": low_out, "w_lh": low_in, "w_ll": low_in and low_out}
    for nm in OCTAVE_WEIGHTS:
        if needed[nm] and ws[nm] is None:
            why = {"w_hl": "there is a low output (w_ll is given)",
                   "w_lh": "x_low is given", "w_ll": "x_low is given and w_hl is given "
                   "(there is a low output)"}[nm]
            raise ValueError(f"{nm} is None, but it is needed since {why}")
        if not needed[nm] and ws[nm] is not None:
            why = {"w_lh": "x_low is None", "w_ll": "x_low is None"}.get(nm, "")
            raise ValueError(f"{nm} is given, but it has no input to convolve since {why}")
    for nm in OCTAVE_WEIGHTS:
        if ws[nm] is not None and ws[nm].ndim != 4:
            raise ValueError(f"{nm} must have 4 dims (C_out, C_in, kh, kw), got shape "
                             f"{ws[nm].shape}")
    kernel = ws["w_hh"].shape[2:]
    for nm in OCTAVE_WEIGHTS:
        if ws[nm] is not None and ws[nm].shape[2:] != kernel:
            raise ValueError(f"every weight must have the same kernel size: w_hh has "
                             f"{kernel}, {nm} has {ws[nm].shape[2:]}")


def _check_octave_channels(xh, xl, ws, c_hi, c_li, c_ho, c_lo):
    """The inputs batched alike, and the channel counts of the four weights."""
    checks = [("w_hh", 1, c_hi, "x_high's channels")]
    if xl is not None:
        if xl.ndim != xh.ndim:
            raise ValueError(f"x_low must be batched like x_high: x_high has shape "
                             f"{xh.shape}, x_low {xl.shape}")
        if xh.ndim == 4 and xl.shape[0] != xh.shape[0]:
            raise ValueError(f"x_low has batch size {xl.shape[0]}, x_high {xh.shape[0]}")
        checks += [("w_lh", 0, c_ho, "w_hh's output channels"),
                   ("w_lh", 1, c_li, "x_low's channels")]
    if ws["w_hl"] is not None:
        checks += [("w_hl", 1, c_hi, "x_high's channels")]
        if xl is not None:
            checks += [("w_ll", 0, c_lo, "w_hl's output channels"),
                       ("w_ll", 1, c_li, "x_low's channels")]
    for nm, axis, want, what in checks:
        got = ws[nm].shape[axis]
        if got != want:
            label = "output" if axis == 0 else "input"
            raise ValueError(f"{nm} of shape {ws[nm].shape} has {got} {label} channels, but "
                             f"{what} make {want}")


def _octave_size(xh, xl, stride, low_out):
    """The high-frequency size the convolutions see; checks every size that is
    halved (x_low's, the poolings')."""
    hw = tuple(int(v) for v in xh.shape[-2:])
    if xl is not None:
        low_hw = tuple(int(v) for v in xl.shape[-2:])
        if any(v % 2 for v in hw):
            raise ValueError(f"x_low must be half the size of x_high, so x_high's spatial "
                             f"size {hw} must be even; got x_low of spatial size {low_hw}")
        if low_hw != (hw[0] // 2, hw[1] // 2):
            raise ValueError(f"x_low must be half the size of x_high: x_high has spatial size "
                             f"{hw}, so x_low must have {(hw[0] // 2, hw[1] // 2)}, got "
                             f"{low_hw}")
    if stride == 2:
        _even(hw, "x_high", "stride=2 average-pools it 2x2")
        if xl is not None:
            _even(tuple(xl.shape[-2:]), "x_low", "stride=2 average-pools it 2x2")
        hw = (hw[0] // 2, hw[1] // 2)
    if low_out:
        _even(hw, "x_high" + (" after stride 2" if stride == 2 else ""),
              "the high-to-low path average-pools it 2x2")
    return hw


def _octave_padding(padding, size, kernel):
    """``((before, after) per dim)`` and the output size of a stride-1, undilated
    2-D convolution of ``size`` (every path of an octave convolution is one)."""
    before, after = explicit_padding(padding, 2, size, kernel, (1, 1), (1, 1))
    out = output_spatial(size, kernel, (1, 1), (1, 1), before, after)
    return tuple(zip(before, after)), out


def octave_split(x, alpha):
    """Split an ordinary tensor into the high- and low-frequency inputs of an octave convolution.

    The first ``round((1 - alpha) * C)`` channels (Python's ``round``: halves
    go to the even integer) are the high-frequency part, copied at full
    resolution; the remaining channels, 2x2 average-pooled, are the
    low-frequency part.

    Parameters
    ----------
    x : array_like
        ``(N, C, H, W)`` or unbatched ``(C, H, W)``; ``H`` and ``W`` even when
        there are low channels.
    alpha : float
        Fraction of the channels in the low-frequency part, in [0, 1].

    Returns
    -------
    x_high : ndarray
        ``(N, C_h, H, W)``, a new array.
    x_low : ndarray or None
        ``(N, C - C_h, H/2, W/2)``, or None when there are no low channels.
        Both in the computation dtype (float32 stays float32, integers become
        float64).

    Raises
    ------
    ValueError
        For an ``alpha`` outside [0, 1], an input that is not 3-D or 4-D, or
        odd spatial sizes with low channels.
    TypeError
        For non-numeric dtypes.

    See Also
    --------
    fastconv.octave_merge : the inverse direction.
    fastconv.octave_conv2d : the convolution on the two parts.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> x = np.arange(2 * 4 * 4, dtype=np.float64).reshape(2, 4, 4)
    >>> xh, xl = fastconv.octave_split(x, 0.5)
    >>> xh.shape, xl
    ((1, 4, 4), array([[[18.5, 20.5],
            [26.5, 28.5]]]))
    """
    xa = _complex.as_any_array(x, "x")
    c = input_channels(xa, "x")
    if not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    c_h = int(round((1 - alpha) * c))
    dtype = _complex.whole_dtype(xa)
    x_high = np.array(xa[..., :c_h, :, :], dtype=dtype, order="C")
    if c_h == c:
        return x_high, None
    _even(tuple(xa.shape[-2:]), "x", f"its {c - c_h} low-frequency channels (alpha={alpha}) "
          f"are average-pooled 2x2")
    x_low = avgpool2(np.ascontiguousarray(xa[..., c_h:, :, :], dtype=dtype))
    return x_high, x_low


def octave_merge(x_high, x_low):
    """Put the two parts of an octave tensor back into one full-resolution tensor.

    The low-frequency part is upsampled 2x by nearest neighbour (each value
    repeated over a 2x2 block) and concatenated after the high-frequency
    channels. ``octave_merge(*octave_split(x, alpha))`` gives back the high
    channels of ``x`` exactly and, for the low ones, the mean of each 2x2
    block repeated over the block.

    Parameters
    ----------
    x_high : array_like
        ``(N, C_h, H, W)`` or unbatched ``(C_h, H, W)``.
    x_low : array_like or None
        ``(N, C_l, H/2, W/2)`` (batched like ``x_high``), or None.

    Returns
    -------
    ndarray
        ``(N, C_h + C_l, H, W)``, a new array of the computation dtype.

    Raises
    ------
    ValueError
        When the shapes do not fit (batching, batch size, ``x_low`` not half
        the size of ``x_high``).
    TypeError
        For non-numeric dtypes.

    See Also
    --------
    fastconv.octave_split : the other direction.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> xh = np.zeros((1, 2, 2))
    >>> xl = np.array([[[5.0]]])
    >>> fastconv.octave_merge(xh, xl)
    array([[[0., 0.],
            [0., 0.]],
    <BLANKLINE>
           [[5., 5.],
            [5., 5.]]])
    """
    xh = _complex.as_any_array(x_high, "x_high")
    input_channels(xh, "x_high")
    if x_low is None:
        return np.array(xh, dtype=_complex.whole_dtype(xh), order="C")
    xl = _complex.as_any_array(x_low, "x_low")
    if xl.ndim != xh.ndim or (xh.ndim == 4 and xl.shape[0] != xh.shape[0]):
        raise ValueError(f"x_low must be batched like x_high, with the same batch size: "
                         f"x_high has shape {xh.shape}, x_low {xl.shape}")
    hw = xh.shape[-2:]
    if any(v % 2 for v in hw) or tuple(xl.shape[-2:]) != (hw[0] // 2, hw[1] // 2):
        raise ValueError(f"x_low must be half the size of x_high: x_high has spatial size "
                         f"{tuple(hw)}, x_low {tuple(xl.shape[-2:])}")
    dtype = _complex.whole_dtype(xh, xl)
    c_h, c_l = xh.shape[-3], xl.shape[-3]
    out = np.empty(xh.shape[:-3] + (c_h + c_l,) + tuple(hw), dtype)
    out[..., :c_h, :, :] = xh
    v = out[..., c_h:, :, :].reshape(xl.shape[:-2] + (hw[0] // 2, 2, hw[1] // 2, 2))
    v[...] = xl[..., :, None, :, None]
    return out


for _f in (depthwise_conv2d, separable_conv2d, spatially_separable_conv2d, separate,
           octave_conv2d, octave_split, octave_merge):
    _f.__module__ = "fastconv"
del _f
