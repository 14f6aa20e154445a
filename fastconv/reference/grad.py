"""Reference definitions of the backward passes (gradients) of the convolutions.

Straight from the math, in float64, with NumPy only. For a convolution ::

    y[n, o, p] = b[o] + sum_{c, t} w[o, c, t] * xpad[n, g(o)*Cig + c, p*stride + t*dilation]

and an upstream gradient ``gy = dL/dy``:

* ``dL/dxpad[n, c, p*stride + t*dilation] += w[o, c, t] * gy[n, o, p]`` (scatter), then
  ``dL/dx`` is ``dL/dxpad`` times the padding's matrix transposed, one axis at a
  time: padding is linear, and its matrix is :func:`fastconv.reference.pad` of
  the identity (so the padded border adds onto the cells it was copied from);
* ``dL/dw[o, c, t] = sum_{n, p} gy[n, o, p] * xpad[n, c, p*stride + t*dilation]``;
* ``dL/db[o] = sum_{n, p} gy[n, o, p]``.

For a transposed convolution (see :mod:`fastconv.reference`) the roles swap:
its input gradient gathers what the forward pass scattered.
"""
import itertools

import numpy as np

from fastconv.reference._conv import PADDING_MODES, _as_float64, _int_tuple, pad, resolve_padding
from fastconv.reference._transposed import _pairs

__all__ = [
    "bias",
    "conv_nd_input",
    "conv_nd_weight",
    "conv_transpose_nd_input",
    "conv_transpose_nd_weight",
] + [f"conv{nd}d_{w}" for nd in (1, 2, 3) for w in ("input", "weight")] + [
    f"conv_transpose{nd}d_{w}" for nd in (1, 2, 3) for w in ("input", "weight")]


def _batched(shape_or_array, nd):
    return len(shape_or_array) == nd + 2


def _geometry(input_shape, weight_shape, stride, padding, dilation, padding_mode="zeros"):
    nd = len(weight_shape) - 2
    spatial = tuple(input_shape[-nd:])
    kernel = tuple(weight_shape[2:])
    stride = _int_tuple(stride, nd, "stride")
    dilation = _int_tuple(dilation, nd, "dilation")
    pads = resolve_padding(padding, spatial, kernel, stride, dilation)
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    out = tuple((n + b + a - d * (k - 1) - 1) // s + 1
                for n, (b, a), k, s, d in zip(spatial, pads, kernel, stride, dilation))
    return nd, spatial, kernel, stride, dilation, pads, out


def _windows(tap, dilation, stride, out):
    return tuple(slice(t * d, t * d + (m - 1) * s + 1, s)
                 for t, d, s, m in zip(tap, dilation, stride, out))


def conv_nd_input(input_shape, weight, grad_output, stride=1, padding=0, dilation=1, groups=1,
                  padding_mode="zeros"):
    """Gradient of a convolution with respect to its input, in float64.

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
    weight : array_like
        ``(C_out, C_in // groups, *kernel)``.
    grad_output : array_like
        The gradient of the loss with respect to the convolution's output.
    stride, padding, dilation, groups, padding_mode
        As for :func:`fastconv.reference.conv_nd`.

    Returns
    -------
    numpy.ndarray
        float64, of shape ``input_shape``.

    Raises
    ------
    ValueError
        If the shapes are inconsistent.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import grad
    >>> grad.conv_nd_input((1, 1, 4), np.array([[[1.0, 2.0]]]), np.ones((1, 1, 3)))
    array([[[1., 3., 3., 2.]]])
    """
    weight = _as_float64(weight, "weight")
    gy = _as_float64(grad_output, "grad_output")
    input_shape = tuple(int(v) for v in input_shape)
    nd, spatial, kernel, stride, dilation, pads, out = _geometry(
        input_shape, weight.shape, stride, padding, dilation, padding_mode)
    batched = _batched(input_shape, nd)
    gyb = gy if batched else gy[None]
    n, c_in = ((1,) if not batched else ()) + input_shape[:len(input_shape) - nd]
    c_out = weight.shape[0]
    cig, cog = c_in // groups, c_out // groups
    expected = (n, c_out) + out
    if gyb.shape != expected:
        raise ValueError(f"grad_output has shape {gy.shape}, expected {expected}")
    padded = tuple(s + b + a for s, (b, a) in zip(spatial, pads))
    gpad = np.zeros((n, c_in) + padded)
    for g in range(groups):
        wg = weight[g * cog:(g + 1) * cog]
        gg = gyb[:, g * cog:(g + 1) * cog]
        for tap in itertools.product(*(range(k) for k in kernel)):
            contrib = np.tensordot(wg[(slice(None), slice(None)) + tap], gg, axes=([0], [1]))
            gpad[(slice(None), slice(g * cig, (g + 1) * cig))
                 + _windows(tap, dilation, stride, out)] += np.moveaxis(contrib, 0, 1)
    # The adjoint of the padding, one axis at a time: its matrix P (padded x
    # input cells) is the padding of the identity, and dL/dx = P^T dL/dxpad.
    cur = gpad
    for dim, (size, cell_pads) in enumerate(zip(spatial, pads)):
        matrix = pad(np.eye(size), [cell_pads], padding_mode).T
        cur = np.moveaxis(np.tensordot(matrix, cur, axes=([0], [2 + dim])), 0, 2 + dim)
    return cur if batched else cur[0]


def conv_nd_weight(input, weight_shape, grad_output, stride=1, padding=0, dilation=1, groups=1,
                   padding_mode="zeros"):
    """Gradient of a convolution with respect to its weight, in float64.

    Parameters
    ----------
    input : array_like
        The convolution's input ``(N, C_in, *spatial)`` or ``(C_in, *spatial)``.
    weight_shape : tuple of int
        ``(C_out, C_in // groups, *kernel)``.
    grad_output : array_like
        The gradient of the loss with respect to the output.
    stride, padding, dilation, groups, padding_mode
        As for :func:`fastconv.reference.conv_nd`.

    Returns
    -------
    numpy.ndarray
        float64, of shape ``weight_shape``.

    Raises
    ------
    ValueError
        If the shapes are inconsistent.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import grad
    >>> grad.conv_nd_weight(np.array([[[1.0, 2.0, 3.0]]]), (1, 1, 2), np.ones((1, 1, 2)))
    array([[[3., 5.]]])
    """
    x = _as_float64(input, "input")
    gy = _as_float64(grad_output, "grad_output")
    weight_shape = tuple(int(v) for v in weight_shape)
    nd, spatial, kernel, stride, dilation, pads, out = _geometry(
        x.shape, weight_shape, stride, padding, dilation, padding_mode)
    batched = _batched(x.shape, nd)
    xb = x if batched else x[None]
    gyb = gy if batched else gy[None]
    c_in, c_out = xb.shape[1], weight_shape[0]
    cig, cog = c_in // groups, c_out // groups
    if gyb.shape != (xb.shape[0], c_out) + out:
        raise ValueError(f"grad_output has shape {gy.shape}, expected "
                         f"{(xb.shape[0], c_out) + out}")
    xpad = pad(xb, pads, padding_mode) if xb.shape[0] else np.zeros(
        xb.shape[:2] + tuple(s + b + a for s, (b, a) in zip(spatial, pads)))
    gw = np.zeros(weight_shape)
    red = [0] + list(range(2, 2 + nd))
    for g in range(groups):
        gg = gyb[:, g * cog:(g + 1) * cog]
        xg = xpad[:, g * cig:(g + 1) * cig]
        for tap in itertools.product(*(range(k) for k in kernel)):
            xs = xg[(slice(None), slice(None)) + _windows(tap, dilation, stride, out)]
            gw[(slice(g * cog, (g + 1) * cog), slice(None)) + tap] = np.tensordot(
                gg, xs, axes=(red, red))
    return gw


def _transposed_geometry(x_shape, weight_shape, stride, padding, output_padding, dilation):
    nd = len(weight_shape) - 2
    spatial = tuple(x_shape[-nd:])
    kernel = tuple(weight_shape[2:])
    stride = _int_tuple(stride, nd, "stride")
    dilation = _int_tuple(dilation, nd, "dilation")
    pads = _pairs(padding, nd)
    op = (tuple(int(v) for v in output_padding) if np.ndim(output_padding)
          else (int(output_padding),) * nd)
    full = tuple((i - 1) * s + d * (k - 1) + 1 + o
                 for i, s, d, k, o in zip(spatial, stride, dilation, kernel, op))
    out = tuple(f - b - a for f, (b, a) in zip(full, pads))
    return nd, spatial, kernel, stride, dilation, pads, out


def _gy_full(gyb, spatial, kernel, stride, dilation, pads):
    """grad_output placed where the full scattered output had it (zeros elsewhere)."""
    need = tuple((i - 1) * s + d * (k - 1) + 1
                 for i, s, d, k in zip(spatial, stride, dilation, kernel))
    shape = tuple(max(nd_, b + m) for nd_, (b, _), m in zip(need, pads, gyb.shape[2:]))
    full = np.zeros(gyb.shape[:2] + shape)
    full[(slice(None), slice(None)) + tuple(slice(b, b + m) for (b, _), m
                                            in zip(pads, gyb.shape[2:]))] = gyb
    return full


def conv_transpose_nd_input(input_shape, weight, grad_output, stride=1, padding=0,
                            output_padding=0, groups=1, dilation=1):
    """Gradient of a transposed convolution with respect to its input, in float64.

    ``gx[n, c, i] = sum_{o, t} w[c, o, t] * gy_full[n, o, i*stride + t*dilation]``: each
    input element gathers the output cells it was scattered to.

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, *spatial)`` or ``(C_in, *spatial)``.
    weight : array_like
        ``(C_in, C_out // groups, *kernel)``.
    grad_output : array_like
        Gradient with respect to the transposed convolution's output.
    stride, padding, output_padding, groups, dilation
        As for :func:`fastconv.reference.conv_transpose_nd`.

    Returns
    -------
    numpy.ndarray
        float64, of shape ``input_shape``.

    Raises
    ------
    ValueError
        If the shapes are inconsistent.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import grad
    >>> grad.conv_transpose_nd_input((1, 1, 2), np.ones((1, 1, 3)), np.arange(5.0)[None, None],
    ...                              stride=2)
    array([[[3., 9.]]])
    """
    weight = _as_float64(weight, "weight")
    gy = _as_float64(grad_output, "grad_output")
    input_shape = tuple(int(v) for v in input_shape)
    nd, spatial, kernel, stride, dilation, pads, out = _transposed_geometry(
        input_shape, weight.shape, stride, padding, output_padding, dilation)
    batched = _batched(input_shape, nd)
    gyb = gy if batched else gy[None]
    c_in = weight.shape[0]
    cig, cog = c_in // groups, weight.shape[1]
    if gyb.shape[2:] != out:
        raise ValueError(f"grad_output has shape {gy.shape}, expected spatial size {out}")
    full = _gy_full(gyb, spatial, kernel, stride, dilation, pads)
    gx = np.zeros((gyb.shape[0], c_in) + spatial)
    for g in range(groups):
        wg = weight[g * cig:(g + 1) * cig]
        fg = full[:, g * cog:(g + 1) * cog]
        for tap in itertools.product(*(range(k) for k in kernel)):
            gs = fg[(slice(None), slice(None)) + _windows(tap, dilation, stride, spatial)]
            gx[:, g * cig:(g + 1) * cig] += np.moveaxis(
                np.tensordot(wg[(slice(None), slice(None)) + tap], gs, axes=([1], [1])), 0, 1)
    return gx if batched else gx[0]


def conv_transpose_nd_weight(input, weight_shape, grad_output, stride=1, padding=0,
                             output_padding=0, groups=1, dilation=1):
    """Gradient of a transposed convolution with respect to its weight, in float64.

    ``gw[c, o, t] = sum_{n, i} x[n, c, i] * gy_full[n, o, i*stride + t*dilation]``.

    Parameters
    ----------
    input : array_like
        The transposed convolution's input.
    weight_shape : tuple of int
        ``(C_in, C_out // groups, *kernel)``.
    grad_output : array_like
        Gradient with respect to its output.
    stride, padding, output_padding, groups, dilation
        As for :func:`fastconv.reference.conv_transpose_nd`.

    Returns
    -------
    numpy.ndarray
        float64, of shape ``weight_shape``.

    Raises
    ------
    ValueError
        If the shapes are inconsistent.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import grad
    >>> grad.conv_transpose_nd_weight(np.ones((1, 1, 2)), (1, 1, 3), np.arange(5.0)[None, None],
    ...                               stride=2)
    array([[[2., 4., 6.]]])
    """
    x = _as_float64(input, "input")
    gy = _as_float64(grad_output, "grad_output")
    weight_shape = tuple(int(v) for v in weight_shape)
    nd, spatial, kernel, stride, dilation, pads, out = _transposed_geometry(
        x.shape, weight_shape, stride, padding, output_padding, dilation)
    batched = _batched(x.shape, nd)
    xb = x if batched else x[None]
    gyb = gy if batched else gy[None]
    cig, cog = weight_shape[0] // groups, weight_shape[1]
    if gyb.shape[2:] != out:
        raise ValueError(f"grad_output has shape {gy.shape}, expected spatial size {out}")
    full = _gy_full(gyb, spatial, kernel, stride, dilation, pads)
    gw = np.zeros(weight_shape)
    red = [0] + list(range(2, 2 + nd))
    for g in range(groups):
        xg = xb[:, g * cig:(g + 1) * cig]
        fg = full[:, g * cog:(g + 1) * cog]
        for tap in itertools.product(*(range(k) for k in kernel)):
            gs = fg[(slice(None), slice(None)) + _windows(tap, dilation, stride, spatial)]
            gw[(slice(g * cig, (g + 1) * cig), slice(None)) + tap] = np.tensordot(
                xg, gs, axes=(red, red))
    return gw


def bias(grad_output):
    """Gradient with respect to the bias: ``grad_output`` summed over all axes but 1.

    Parameters
    ----------
    grad_output : array_like
        ``(N, C_out, *spatial)``.

    Returns
    -------
    numpy.ndarray
        float64, ``(C_out,)``.

    Raises
    ------
    ValueError
        If ``grad_output`` has fewer than 2 dims.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import grad
    >>> grad.bias(np.ones((2, 3, 4)))
    array([8., 8., 8.])
    """
    gy = _as_float64(grad_output, "grad_output")
    if gy.ndim < 2:
        raise ValueError(f"grad_output must be (N, C_out, *spatial), got shape {gy.shape}")
    return gy.sum(axis=(0,) + tuple(range(2, gy.ndim)))


def _fixed(nd, base, kind):
    def fn(*args, **kwargs):
        arr = args[1] if kind == "input" else args[0]
        shape = np.shape(arr) if kind == "input" else None
        if kind == "input" and len(shape) != nd + 2:
            raise ValueError(f"weight must have {nd + 2} dims, got shape {shape}")
        return base(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = base.__name__.replace("_nd_", f"{nd}d_")
    name = fn.__name__
    first = "input_shape" if kind == "input" else "input"
    shape = (1, 2) + (5,) * nd
    wshape = ((3, 2) if "transpose" not in name else (2, 3)) + (3,) * nd
    gshape = (1, 3) + ((3,) * nd if "transpose" not in name else (7,) * nd)
    call = (f"{name}({shape}, np.ones({wshape}), np.ones({gshape}))" if kind == "input"
            else f"{name}(np.ones({shape}), {wshape}, np.ones({gshape}))")
    result = shape if kind == "input" else wshape
    fn.__doc__ = f"""{nd}-D version of :func:`{base.__name__}`, in float64.

    Parameters
    ----------
    {first}, {"weight" if kind == "input" else "weight_shape"}, grad_output, ...
        As for :func:`{base.__name__}`, with {nd} spatial dims.

    Returns
    -------
    numpy.ndarray
        The float64 gradient, of shape ``{"input_shape" if kind == "input" else "weight_shape"}``.

    Raises
    ------
    ValueError
        If the shapes are inconsistent.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.reference import grad
    >>> grad.{call}.shape
    {result}
    """
    return fn


for _nd in (1, 2, 3):
    for _base in (conv_nd_input, conv_nd_weight, conv_transpose_nd_input,
                  conv_transpose_nd_weight):
        _kind = "input" if _base.__name__.endswith("input") else "weight"
        _f = _fixed(_nd, _base, _kind)
        globals()[_f.__name__] = _f
del _nd, _base, _kind, _f
