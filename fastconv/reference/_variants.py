"""Reference definitions of the depthwise, separable, spatially separable and octave convolutions.

Each is written straight from its definition, in float64, on top of the
reference :func:`~fastconv.reference.conv2d`:

* depthwise: one single-channel convolution per (input channel, multiplier);
* depthwise-separable: the depthwise result, materialised, then the pointwise
  sum over its channels written as a ``tensordot``;
* spatially separable: the ordinary convolution with the ``(kh, kw)`` kernel
  that the column and row filters multiply into;
* octave: explicit 2x2 average pooling and nearest upsampling loops around
  four ordinary convolutions.
"""
import numpy as np

from fastconv.reference._conv import conv2d as _conv2d
from fastconv.reference._conv import resolve_padding as _resolve_padding

__all__ = ["depthwise_conv2d", "separable_conv2d", "spatially_separable_conv2d",
           "octave_conv2d", "octave_split", "octave_merge", "avgpool2x2", "upsample_nearest2x"]


def _f64(a):
    return None if a is None else np.asarray(a, dtype=np.float64)


def depthwise_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1,
                     padding_mode="zeros"):
    """Depthwise convolution, one input channel at a time, in float64.

    Output channel ``c * m + j`` is input channel ``c`` convolved with filter
    ``c * m + j`` of ``weight (C * m, 1, kh, kw)``.

    Parameters
    ----------
    x : array_like
        ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
    weight : array_like
        ``(C * m, 1, kh, kw)``.
    bias : array_like, optional
        ``(C * m,)``.
    stride, padding, dilation, padding_mode
        As for :func:`fastconv.reference.conv2d`.

    Returns
    -------
    numpy.ndarray
        float64, ``(N, C * m, out_h, out_w)`` (unbatched if ``x`` was).

    Raises
    ------
    ValueError
        If the shapes or parameters are inconsistent.

    See Also
    --------
    fastconv.depthwise_conv2d : the fast version.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import depthwise_conv2d
    >>> depthwise_conv2d(np.ones((2, 3, 3)), np.ones((4, 1, 2, 2)))[:, 0, 0]
    array([4., 4., 4., 4.])
    """
    x, weight, bias = _f64(x), _f64(weight), _f64(bias)
    unbatched = x.ndim == 3
    xb = x[None] if unbatched else x
    c = xb.shape[1]
    m = weight.shape[0] // c
    outs = []
    for ch in range(c):
        for j in range(m):
            o = ch * m + j
            b = None if bias is None else bias[o:o + 1]
            outs.append(_conv2d(xb[:, ch:ch + 1], weight[o:o + 1], b, stride, padding, dilation,
                                1, padding_mode))
    y = np.concatenate(outs, axis=1)
    return y[0] if unbatched else y


def separable_conv2d(x, depthwise_weight, pointwise_weight, bias=None, stride=1, padding=0,
                     dilation=1, padding_mode="zeros"):
    """Depthwise then pointwise (1x1) convolution then bias, in float64.

    The depthwise result ``z`` is materialised, then
    ``y[n, o] = bias[o] + sum_k pointwise_weight[o, k, 0, 0] * z[n, k]``.

    Parameters
    ----------
    x : array_like
        ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
    depthwise_weight : array_like
        ``(C * m, 1, kh, kw)``.
    pointwise_weight : array_like
        ``(C_out, C * m, 1, 1)``.
    bias : array_like, optional
        ``(C_out,)``.
    stride, padding, dilation, padding_mode
        Of the depthwise stage, as for :func:`fastconv.reference.conv2d`.

    Returns
    -------
    numpy.ndarray
        float64, ``(N, C_out, out_h, out_w)`` (unbatched if ``x`` was).

    Raises
    ------
    ValueError
        If the shapes or parameters are inconsistent.

    See Also
    --------
    fastconv.separable_conv2d : the fast, fused version.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import separable_conv2d
    >>> y = separable_conv2d(np.ones((1, 2, 3, 3)), np.ones((2, 1, 3, 3)),
    ...                      np.ones((5, 2, 1, 1)), bias=np.arange(5.0))
    >>> y[0, :, 0, 0]
    array([18., 19., 20., 21., 22.])
    """
    z = depthwise_conv2d(x, depthwise_weight, None, stride, padding, dilation, padding_mode)
    pw = _f64(pointwise_weight)[:, :, 0, 0]
    y = np.moveaxis(np.tensordot(pw, z, axes=([1], [-3])), 0, -3)
    if bias is not None:
        y = y + _f64(bias)[:, None, None]
    return y


def spatially_separable_conv2d(x, column_weight, row_weight, bias=None, stride=1, padding=0,
                               dilation=1, groups=1, padding_mode="zeros"):
    """The convolution with the ``(kh, kw)`` kernel the column and row filters make, in float64.

    ``W[o, c, u, v] = sum_k row_weight[o, k, 0, v] * column_weight[g(o) * Cmg + k, c, u, 0]``,
    ``k`` over the ``Cmg = C_mid // groups`` middle channels of output channel
    ``o``'s group ``g(o)``.

    Parameters
    ----------
    x : array_like
        ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
    column_weight : array_like
        ``(C_mid, C_in // groups, kh, 1)``.
    row_weight : array_like
        ``(C_out, C_mid // groups, 1, kw)``.
    bias : array_like, optional
        ``(C_out,)``.
    stride, padding, dilation, groups, padding_mode
        Of the ``(kh, kw)`` convolution, as for :func:`fastconv.reference.conv2d`.

    Returns
    -------
    numpy.ndarray
        float64, ``(N, C_out, out_h, out_w)`` (unbatched if ``x`` was).

    Raises
    ------
    ValueError
        If the shapes or parameters are inconsistent.

    See Also
    --------
    fastconv.spatially_separable_conv2d : the fast version (two 1-D stages).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import spatially_separable_conv2d
    >>> x = np.arange(16.0).reshape(1, 4, 4)
    >>> col = np.ones((1, 1, 2, 1))
    >>> row = np.array([1.0, -1.0]).reshape(1, 1, 1, 2)
    >>> spatially_separable_conv2d(x, col, row)
    array([[[-2., -2., -2.],
            [-2., -2., -2.],
            [-2., -2., -2.]]])
    """
    cw, rw = _f64(column_weight), _f64(row_weight)
    c_out, cmg = rw.shape[:2]
    cog = c_out // groups
    kernel = np.zeros((c_out, cw.shape[1], cw.shape[2], rw.shape[3]))
    for o in range(c_out):
        g = o // cog
        for k in range(cmg):
            kernel[o] += rw[o, k, 0][None, None, :] * cw[g * cmg + k, :, :, 0][:, :, None]
    return _conv2d(x, kernel, bias, stride, padding, dilation, groups, padding_mode)


def avgpool2x2(x):
    """2x2 average pooling (stride 2) of the last two axes, with explicit loops.

    Parameters
    ----------
    x : array_like
        ``(..., H, W)``; a last odd row or column is dropped.

    Returns
    -------
    numpy.ndarray
        float64, ``(..., H // 2, W // 2)``, each value the mean of a 2x2 block.

    See Also
    --------
    upsample_nearest2x : the upsampling of the octave convolution.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import avgpool2x2
    >>> avgpool2x2(np.arange(16.0).reshape(4, 4))
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    x = _f64(x)
    h, w = x.shape[-2] // 2, x.shape[-1] // 2
    y = np.zeros(x.shape[:-2] + (h, w))
    for i in range(h):
        for j in range(w):
            y[..., i, j] = (x[..., 2 * i, 2 * j] + x[..., 2 * i, 2 * j + 1]
                            + x[..., 2 * i + 1, 2 * j] + x[..., 2 * i + 1, 2 * j + 1]) / 4
    return y


def upsample_nearest2x(x):
    """Nearest-neighbour 2x upsampling of the last two axes: every value over a 2x2 block.

    Parameters
    ----------
    x : array_like
        ``(..., h, w)``.

    Returns
    -------
    numpy.ndarray
        float64, ``(..., 2 * h, 2 * w)``.

    See Also
    --------
    avgpool2x2 : the pooling of the octave convolution.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import upsample_nearest2x
    >>> upsample_nearest2x(np.array([[1.0, 2.0]]))
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.]])
    """
    return np.repeat(np.repeat(_f64(x), 2, axis=-2), 2, axis=-1)


def octave_conv2d(x_high, x_low, w_hh, w_hl, w_lh, w_ll, bias_high=None, bias_low=None,
                  stride=1, padding=0):
    """Octave convolution (Chen et al. 2019), in float64.

    ``y_high = conv(x_high, w_hh) + upsample(conv(x_low, w_lh)) + bias_high``,
    ``y_low = conv(x_low, w_ll) + conv(avgpool(x_high), w_hl) + bias_low``;
    ``stride=2`` average-pools both inputs first. Missing paths (None) are
    left out; ``y_low`` is None without ``w_hl``.

    Parameters
    ----------
    x_high, x_low : array_like
        ``(N, C_hi, H, W)`` and ``(N, C_li, H/2, W/2)`` (``x_low`` may be None).
    w_hh, w_hl, w_lh, w_ll : array_like or None
        ``(C_out_part, C_in_part, kh, kw)``, from high/low to high/low.
    bias_high, bias_low : array_like, optional
    stride : {1, 2}
    padding : int, tuple, 'valid' or 'same'
        Of every path, as for :func:`fastconv.reference.conv2d`.

    Returns
    -------
    y_high : numpy.ndarray
    y_low : numpy.ndarray or None

    Raises
    ------
    ValueError
        If the shapes are inconsistent.

    See Also
    --------
    fastconv.octave_conv2d : the fast version, with the argument checks.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import octave_conv2d
    >>> yh, yl = octave_conv2d(np.ones((1, 4, 4)), np.ones((1, 2, 2)), np.ones((1, 1, 1, 1)),
    ...                        np.ones((1, 1, 1, 1)), np.ones((1, 1, 1, 1)),
    ...                        np.ones((1, 1, 1, 1)))
    >>> float(yh[0, 0, 0]), float(yl[0, 0, 0])
    (2.0, 2.0)
    """
    xh = _f64(x_high)
    xl = _f64(x_low)
    if stride == 2:
        xh = avgpool2x2(xh)
        xl = None if xl is None else avgpool2x2(xl)

    def conv(x, w, b):
        pads = _resolve_padding(padding, x.shape[-2:], np.shape(w)[2:])
        return _conv2d(x, w, b, 1, tuple(pads))

    y_high = conv(xh, w_hh, bias_high)
    if xl is not None:
        y_high = y_high + upsample_nearest2x(conv(xl, w_lh, None))
    y_low = None
    if w_hl is not None:
        y_low = conv(avgpool2x2(xh), w_hl, bias_low)
        if xl is not None:
            y_low = y_low + conv(xl, w_ll, None)
    return y_high, y_low


def octave_split(x, alpha):
    """First ``round((1 - alpha) * C)`` channels (high), the rest 2x2 average-pooled (low).

    Parameters
    ----------
    x : array_like
        ``(N, C, H, W)`` or ``(C, H, W)``.
    alpha : float
        Fraction of low-frequency channels.

    Returns
    -------
    x_high : numpy.ndarray
    x_low : numpy.ndarray or None
        None when there are no low channels.

    See Also
    --------
    fastconv.octave_split : the fast version.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import octave_split
    >>> xh, xl = octave_split(np.ones((4, 2, 2)), 0.25)
    >>> xh.shape, xl.shape
    ((3, 2, 2), (1, 1, 1))
    """
    x = _f64(x)
    c = x.shape[-3]
    c_h = int(round((1 - alpha) * c))
    x_high = x[..., :c_h, :, :].copy()
    x_low = avgpool2x2(x[..., c_h:, :, :]) if c_h < c else None
    return x_high, x_low


def octave_merge(x_high, x_low):
    """Concatenate ``x_high`` and the nearest-upsampled ``x_low`` along the channels.

    Parameters
    ----------
    x_high : array_like
        ``(N, C_h, H, W)`` or ``(C_h, H, W)``.
    x_low : array_like or None
        ``(N, C_l, H/2, W/2)``.

    Returns
    -------
    numpy.ndarray
        float64, ``(N, C_h + C_l, H, W)``.

    See Also
    --------
    fastconv.octave_merge : the fast version.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import octave_merge
    >>> octave_merge(np.zeros((1, 2, 2)), np.ones((1, 1, 1))).shape
    (2, 2, 2)
    """
    xh = _f64(x_high)
    if x_low is None:
        return xh.copy()
    return np.concatenate([xh, upsample_nearest2x(x_low)], axis=-3)
