"""Backward passes of the convolutions: the gradients a training loop needs.

The names and signatures follow ``torch.nn.grad`` (``conv2d_input(input_size,
weight, grad_output, ...)`` and ``conv2d_weight(input, weight_size,
grad_output, ...)``), with ``padding_mode=`` and ``algorithm=`` added; the
transposed convolutions get the same pair, with their own argument order
(``output_padding``, ``groups`` before ``dilation``).

How each gradient is computed, from the pieces the forward pass already has:

* the input gradient of a convolution is a transposed convolution of
  ``grad_output`` onto the (padded) input, computed by the transposed
  convolution's core (:func:`fastconv._transposed.transpose_core`) with the
  caller's ``algorithm``: ``'im2col'`` (and ``'auto'`` where
  :func:`fastconv._transposed.choose_transposed_algorithm` picks it) runs
  one GEMM per image and group and a scatter-add (col2im); ``'direct'``,
  ``'winograd'`` and the rest of ``'auto'`` run the sub-pixel
  decomposition (one stride-1 convolution per stride phase, no inserted
  zeros) with that algorithm. For the ``reflect``/``replicate``/``circular``
  padding modes the gradient of the padded border is then folded back onto
  the input cells it was copied from;
* the input gradient of a transposed convolution is a convolution, run with
  the caller's ``algorithm``;
* every weight gradient is a reduction over the batch and the output
  positions, ``grad_w (C_out x C_in/groups * prod(k)) = sum_n grad_output[n]
  (C_out x P) @ cols[n]^T (P x C_in/groups * prod(k))``: the im2col
  algorithm, the only one the weight gradients have (``algorithm`` is
  ``'auto'`` or ``'im2col'``). The compiled kernel
  :func:`fastconv._kernels._grad.weight_grad` runs it on the project's packed
  GEMM micro-kernel: the unfolded input is packed block by block (never built
  whole), work items own disjoint column blocks of the result (no atomics) and
  sum in a fixed order, so the result is the same for every thread count;
* the bias gradient sums ``grad_output`` over the batch and spatial dims.

An ``algorithm`` is accepted exactly where the forward function accepts it
(``'winograd'`` needs stride 1 and 3 or 1 taps per axis), except by the
weight gradients, which accept ``'auto'`` and ``'im2col'`` only.

Complex arrays follow PyTorch's convention (the conjugate Wirtinger
derivative of a real loss): for ``y = conv(x, w)``, ``grad_x`` is the input
gradient of ``grad_y`` with ``conj(w)``, ``grad_w`` the weight gradient of
``conj(x)`` and ``grad_y``, and the bias gradient the sum of ``grad_y``; each
is composed from the real gradients of the real and imaginary parts.
"""
from collections import namedtuple

import numpy as np

from fastconv import _complex, _limits
from fastconv._args import (as_array, check_algorithm, check_padding_mode, check_winograd,
                            compute_dtype, conv_geometry, is_int, pad_spatial, padded_source,
                            prepare_conv, stand_in)
from fastconv._dispatch import as_3d, isa_level, run_conv
from fastconv._docstrings import SPATIAL_NAMES
from fastconv._kernels import _grad
from fastconv._threads import get_num_threads
from fastconv._transposed import prepare_transposed, transpose_core
from fastconv._variants import OCTAVE_WEIGHTS, avgpool2, prepare_octave
from fastconv.functional import conv2d

__all__ = [
    "bias",
    "depthwise_conv2d",
    "separable_conv2d",
    "spatially_separable_conv2d",
    "octave_conv2d",
    "conv1d_input", "conv1d_weight",
    "conv2d_input", "conv2d_weight",
    "conv3d_input", "conv3d_weight",
    "conv_transpose1d_input", "conv_transpose1d_weight",
    "conv_transpose2d_input", "conv_transpose2d_weight",
    "conv_transpose3d_input", "conv_transpose3d_weight",
]

#: The values of ``algorithm=`` the weight gradients accept: their reduction
#: is the im2col algorithm's GEMM.
WEIGHT_ALGORITHMS = ("auto", "im2col")


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------
def _shape_tuple(shape, name):
    if isinstance(shape, np.ndarray) or not isinstance(shape, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of ints (a shape), got {type(shape).__name__}")
    if not all(is_int(v) and v >= 0 for v in shape):
        raise ValueError(f"{name} must contain non-negative ints, got {shape!r}")
    return tuple(map(int, shape))


def _weight_algorithm(algorithm):
    """The algorithm of a weight gradient: 'auto' or 'im2col' (the GEMM)."""
    if algorithm not in WEIGHT_ALGORITHMS:
        raise ValueError(f"algorithm={algorithm!r}: a weight gradient is computed by the "
                         f"im2col algorithm (a GEMM of grad_output with the unfolded input); "
                         f"use one of {', '.join(map(repr, WEIGHT_ALGORITHMS))}")
    return algorithm


def _geometry(nd, x_shape, w_shape, stride, padding, dilation, groups, padding_mode, x_name,
              w_name):
    """The forward conv{nd}d's geometry, validated from shapes alone."""
    check_padding_mode(padding_mode)
    return conv_geometry(nd, x_shape, w_shape, stride, padding, dilation, groups, padding_mode,
                         x_name, w_name)


def _grad_output(grad_output, g):
    gy = as_array(grad_output, "grad_output")
    if gy.shape != g.out_shape:
        raise ValueError(f"grad_output has shape {gy.shape}, but the convolution's output has "
                         f"shape {g.out_shape}")
    return gy


# --------------------------------------------------------------------------
# Cores (batched, C-contiguous arrays of the computation dtype)
# --------------------------------------------------------------------------
def _fold_padding(gpad, in_spatial, before, mode):
    """The adjoint of padding with ``mode``: the gradient of each padded cell
    added onto the input cell whose value it holds (dropped for zeros)."""
    cur = gpad
    for dim, (size, b) in enumerate(zip(in_spatial, before)):
        axis = 2 + dim
        a = cur.shape[axis] - size - b
        if a == 0 and b == 0:
            continue
        source = padded_source(size, b, a, mode)
        lead = (slice(None),) * axis
        folded = np.array(cur[lead + (slice(b, b + size),)])
        if mode != "zeros":
            for j in list(range(b)) + list(range(b + size, cur.shape[axis])):
                folded[lead + (int(source[j]),)] += cur[lead + (j,)]
        cur = folded
    return cur


def _input_core(nd, gy, weight, g, algorithm, padding_mode):
    """Input gradient of a convolution (batched result)."""
    dtype = gy.dtype
    if padding_mode == "zeros":
        res = np.empty((gy.shape[0], g.c_in) + g.in_spatial, dtype=dtype)
        if res.size:
            transpose_core(nd, gy, weight, None, g.stride, g.dilation, g.pad_before,
                           g.in_spatial, g.groups, algorithm, res)
        return res
    padded = tuple(s + b + a for s, b, a in zip(g.in_spatial, g.pad_before, g.pad_after))
    gpad = np.empty((gy.shape[0], g.c_in) + padded, dtype=dtype)
    if gpad.size:
        transpose_core(nd, gy, weight, None, g.stride, g.dilation, (0,) * nd, padded,
                       g.groups, algorithm, gpad)
    return _fold_padding(gpad, g.in_spatial, g.pad_before, padding_mode)


def _weight_core(x, gy, kernel, stride, dilation, before, groups):
    """``gw[o, c, t] = sum_{n, p} gy[n, o, p] * xpad[n, c, p * stride + t * dilation]``.

    ``x`` ``(N, C_in, *in)`` is zero-padded by ``before`` (the padding after
    follows from the sizes); ``gy`` is ``(N, C_out, *out)``. Returns
    ``(C_out, C_in // groups, *kernel)``.
    """
    n, c_in = x.shape[:2]
    c_out = gy.shape[1]
    cig = c_in // groups
    out = gy.shape[2:]
    dtype = gy.dtype
    if n == 0 or 0 in out:
        return np.zeros((c_out, cig) + tuple(kernel), dtype=dtype)
    res = np.empty((c_out, cig) + tuple(kernel), dtype=dtype)
    _grad.weight_grad(x.reshape(x.shape[:2] + as_3d(x.shape[2:], 1)),
                      gy.reshape(gy.shape[:2] + as_3d(out, 1)),
                      res.reshape(res.shape[:2] + as_3d(kernel, 1)),
                      as_3d(stride, 1), as_3d(before, 0), as_3d(dilation, 1),
                      groups, get_num_threads(), isa_level())
    return res


def _wirtinger(real, grad_output, other, name):
    """A gradient of a complex convolution, PyTorch's convention: the real
    gradient ``real(grad_output, other)`` (linear in both) with ``other``
    conjugated (for ``y = conv(x, w)``: ``grad_x = conv_input(grad_y, conj(w))``,
    ``grad_w = conv_weight(conj(x), grad_y)``, the conjugate Wirtinger
    derivative of a real loss)."""
    return _complex.compose(real, grad_output, other, convention="pytorch",
                            names=("grad_output", name), conj_w=True)


# --------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------
def _conv_input(nd, input_shape, weight, grad_output, stride, padding, dilation, groups,
                padding_mode, algorithm):
    if _complex.is_complex(weight, grad_output):
        def real(gr, wr, fill):
            return _conv_input(nd, input_shape, wr, gr, stride, padding, dilation, groups,
                               padding_mode, algorithm)
        return _wirtinger(real, grad_output, weight, "weight")
    input_shape = _shape_tuple(input_shape, "input_shape")
    w = as_array(weight, "weight")
    check_algorithm(algorithm)
    g = _geometry(nd, input_shape, w.shape, stride, padding, dilation, groups, padding_mode,
                  "input_shape", "weight")
    if algorithm == "winograd":        # accepted where the forward call accepts it
        check_winograd(g.kernel, g.stride)
    gy = _grad_output(grad_output, g)
    dtype = compute_dtype(w, gy)
    pads = (g.pad_before, g.pad_after) if padding_mode != "zeros" else ((0,) * nd, (0,) * nd)
    _limits.check_alloc(input_shape[:-nd] + tuple(v + b + a for v, b, a in
                                                  zip(input_shape[-nd:], *pads)),
                        dtype, "an input gradient", f"input_shape={input_shape}")
    gyb = np.ascontiguousarray(gy if g.batched else gy[None], dtype=dtype)
    w = np.ascontiguousarray(w, dtype=dtype)
    res = _input_core(nd, gyb, w, g, algorithm, padding_mode)
    return res if g.batched else res[0]


def _conv_weight(nd, input, weight_shape, grad_output, stride, padding, dilation, groups,
                 padding_mode, algorithm):
    if _complex.is_complex(input, grad_output):
        def real(gr, xr, fill):
            return _conv_weight(nd, xr, weight_shape, gr, stride, padding, dilation, groups,
                                padding_mode, algorithm)
        return _wirtinger(real, grad_output, input, "input")
    weight_shape = _shape_tuple(weight_shape, "weight_shape")
    x = as_array(input, "input")
    _weight_algorithm(algorithm)
    g = _geometry(nd, x.shape, weight_shape, stride, padding, dilation, groups, padding_mode,
                  "input", "weight_shape")
    gy = _grad_output(grad_output, g)
    dtype = compute_dtype(x, gy)
    _limits.check_alloc(weight_shape, dtype, "a weight gradient", f"weight_shape={weight_shape}")
    xb = x if g.batched else x[None]
    gyb = np.ascontiguousarray(gy if g.batched else gy[None], dtype=dtype)
    before = g.pad_before
    if padding_mode != "zeros" and any(g.pad_before + g.pad_after) and xb.size:
        _limits.check_alloc(xb.shape[:2] + tuple(v + b + a for v, b, a in
                                                 zip(xb.shape[2:], g.pad_before, g.pad_after)),
                            dtype, f"an input padded in mode {padding_mode!r}",
                            f"padding={padding!r}")
        xb = pad_spatial(xb, g.pad_before, g.pad_after, padding_mode)
        before = (0,) * nd
    xb = np.ascontiguousarray(xb, dtype=dtype)
    return _weight_core(xb, gyb, g.kernel, g.stride, g.dilation, before, g.groups)


def _transposed_check(nd, x_shape, w_shape, gy, stride, padding, output_padding, groups,
                      dilation, algorithm, x_name):
    """Validate via the forward transposed convolution's rules (shapes only)."""
    t = prepare_transposed(nd, stand_in(x_shape), stand_in(w_shape), None, stride, padding,
                           output_padding, groups, dilation, algorithm, None, name=x_name,
                           arrays=False)
    if gy.shape != t.out_shape:
        raise ValueError(f"grad_output has shape {gy.shape}, but the transposed convolution's "
                         f"output has shape {t.out_shape}")
    return t


def _conv_transpose_input(nd, input_shape, weight, grad_output, stride, padding,
                          output_padding, groups, dilation, algorithm):
    if _complex.is_complex(weight, grad_output):
        def real(gr, wr, fill):
            return _conv_transpose_input(nd, input_shape, wr, gr, stride, padding,
                                         output_padding, groups, dilation, algorithm)
        return _wirtinger(real, grad_output, weight, "weight")
    input_shape = _shape_tuple(input_shape, "input_shape")
    w = as_array(weight, "weight")
    gy = as_array(grad_output, "grad_output")
    t = _transposed_check(nd, input_shape, w.shape, gy, stride, padding, output_padding,
                          groups, dilation, algorithm, "input_shape")
    dtype = compute_dtype(w, gy)
    gyb = gy if t.batched else gy[None]
    in_spatial = tuple(input_shape[-nd:])
    kernel = w.shape[2:]
    # grad_x[n, c, i] = sum_{o, t} w[c, o, t] * gy[n, o, i*s - before + t*d]: a convolution
    # of grad_output with w (as a (C_in, C_out // groups, *k) conv weight) whose padded
    # length gives exactly in_spatial outputs.
    sl, pads = [], []
    for size, length, k, s, d, b in zip(in_spatial, gyb.shape[2:], kernel, t.stride,
                                        t.dilation, t.before):
        need = (size - 1) * s + d * (k - 1) + 1 - b    # rows of gy read (from 0)
        # The padded gy spans rows [-b, need); when need < 0 (every row read
        # lies in the cropped padding) no row of gy is read and the zeros
        # before it are b + need, not b.
        sl.append(slice(0, max(min(length, need), 0)))
        pads.append((b + min(need, 0), max(need - length, 0)))
    gys = gyb[(slice(None), slice(None)) + tuple(sl)]
    problem, xs, ws, _, _ = prepare_conv(nd, gys.astype(dtype, copy=False), w.astype(dtype),
                                         None, t.stride, tuple(pads), t.dilation, t.groups,
                                         "zeros", algorithm, None)
    res = run_conv(problem, xs, ws, None, None)
    return res if t.batched else res[0]


def _conv_transpose_weight(nd, input, weight_shape, grad_output, stride, padding,
                           output_padding, groups, dilation, algorithm):
    if _complex.is_complex(input, grad_output):
        def real(gr, xr, fill):
            return _conv_transpose_weight(nd, xr, weight_shape, gr, stride, padding,
                                          output_padding, groups, dilation, algorithm)
        return _wirtinger(real, grad_output, input, "input")
    weight_shape = _shape_tuple(weight_shape, "weight_shape")
    x = as_array(input, "input")
    gy = as_array(grad_output, "grad_output")
    _weight_algorithm(algorithm)
    t = _transposed_check(nd, x.shape, weight_shape, gy, stride, padding, output_padding,
                          groups, dilation, "auto", "input")
    dtype = compute_dtype(x, gy)
    _limits.check_alloc(weight_shape, dtype, "a weight gradient", f"weight_shape={weight_shape}")
    xb = np.ascontiguousarray(x if t.batched else x[None], dtype=dtype)
    gyb = np.ascontiguousarray(gy if t.batched else gy[None], dtype=dtype)
    # gw[c, o, t] = sum_{n, i} x[n, c, i] * gy[n, o, i*s - before + t*d]: the weight
    # gradient of the convolution gy -> x (weight (C_in, C_out // groups, *k)).
    return _weight_core(gyb, xb, weight_shape[2:], t.stride, t.dilation, t.before, t.groups)


def bias(grad_output):
    """Gradient of a convolution's loss with respect to its bias.

    The sum of ``grad_output`` over the batch and spatial dims (every axis
    but axis 1), in a fixed order (the result does not depend on the thread
    count).

    Parameters
    ----------
    grad_output : array_like
        ``(N, C_out, *spatial)``; for an unbatched gradient pass
        ``grad_output[None]``.

    Returns
    -------
    ndarray
        ``(C_out,)``, float32 for float32 input, complex64 or complex128 for
        complex input (no conjugation), else float64.

    Raises
    ------
    ValueError
        If ``grad_output`` has fewer than 2 dims.
    TypeError
        For object, string and other non-numeric dtypes.

    See Also
    --------
    fastconv.grad.conv2d_weight, fastconv.grad.conv2d_input : the other gradients.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> fastconv.grad.bias(np.ones((2, 3, 4, 4), dtype=np.float32))
    array([32., 32., 32.], dtype=float32)
    """
    gy = _complex.as_any_array(grad_output, "grad_output")
    if gy.ndim < 2:
        raise ValueError(f"grad_output must be (N, C_out, *spatial), got shape {gy.shape}")
    dtype = _complex.result_dtype(gy) if gy.dtype.kind == "c" else compute_dtype(gy)
    # NumPy's summation order follows the memory layout: sum a C-contiguous
    # copy, so that every layout gives the same bits.
    return np.sum(np.ascontiguousarray(gy, dtype=dtype), axis=(0,) + tuple(range(2, gy.ndim)))


bias.__module__ = "fastconv.grad"

_INPUT_DOC = """Gradient of ``conv{nd}d`` with respect to its input.

    ``grad_input = d(loss)/d(x)`` given ``grad_output = d(loss)/d(y)`` for
    ``y = fastconv.conv{nd}d(x, weight, stride=..., padding=..., ...)``:
    a transposed convolution of ``grad_output`` (as
    :func:`fastconv.conv_transpose{nd}d` computes it), with the padded border
    folded back onto the input for the non-zero padding modes. The signature
    of ``torch.nn.grad.conv{nd}d_input``.

    Complex arrays follow PyTorch's conjugate (Wirtinger) convention: the
    gradient with ``weight`` conjugated (see the module's docstring).

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, {spatial})`` or unbatched ``(C_in, {spatial})``.
    weight : array_like
        ``(C_out, C_in // groups, {kernel})``.
    grad_output : array_like
        ``(N, C_out, {out_spatial})`` (unbatched if ``input_shape`` is).
    stride, padding, dilation, groups
        As for :func:`fastconv.conv{nd}d` (every padding form, ``'same'``
        and asymmetric pairs included).
    padding_mode : {{'zeros', 'reflect', 'replicate', 'circular'}}, default 'zeros'
        As for :func:`fastconv.conv{nd}d`.
    algorithm : {{'auto', 'direct', 'im2col', 'winograd'}}, default 'auto'
        Algorithm of the transposed convolution it runs: 'im2col' one GEMM per
        image and group and a scatter-add (col2im); 'direct' and 'winograd'
        the sub-pixel decomposition (one stride-1 convolution per stride
        phase) with that algorithm; 'auto' as :func:`fastconv.conv_transpose{nd}d`
        chooses. Accepted where :func:`fastconv.conv{nd}d` accepts it:
        'winograd' needs stride 1 and 3 or 1 taps along every axis.

    Returns
    -------
    ndarray
        Of shape ``input_shape``; dtype of ``weight`` and ``grad_output``
        (float32 stays float32, integers give float64).

    Raises
    ------
    ValueError
        For inconsistent shapes (``grad_output`` not the forward output's
        shape), bad stride/padding/dilation/groups/padding_mode/algorithm, or
        ``algorithm='winograd'`` on a kernel or stride it does not apply to.
    TypeError
        For an ``input_shape`` that is not a tuple, or non-numeric dtypes.

    See Also
    --------
    fastconv.grad.conv{nd}d_weight : the weight gradient.
    fastconv.conv_transpose{nd}d : the transposed convolution.
    fastconv.reference.grad.conv{nd}d_input : the float64 definition.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal({xshape})
    >>> w = rng.standard_normal({wshape})
    >>> y = fastconv.conv{nd}d(x, w, stride=2, padding=1)
    >>> g = np.ones_like(y)
    >>> gx = fastconv.grad.conv{nd}d_input(x.shape, w, g, stride=2, padding=1)
    >>> gx.shape == x.shape
    True
    >>> # adjoint identity: <conv(x), g> == <x, grad_input(g)>
    >>> bool(np.isclose(np.vdot(y, g), np.vdot(x, gx)))
    True
"""

_WEIGHT_DOC = """Gradient of ``conv{nd}d`` with respect to its weight.

    ``grad_weight[o, c, t] = sum_n sum_p grad_output[n, o, p] *
    x_pad[n, c, p * stride + t * dilation]``: a reduction over the batch and
    the output positions, computed as a GEMM on the project's micro-kernel
    (parallel over disjoint output blocks, the same result for any thread
    count). The signature of ``torch.nn.grad.conv{nd}d_weight``.

    Complex arrays follow PyTorch's conjugate (Wirtinger) convention: the
    gradient with ``input`` conjugated (see the module's docstring).

    Parameters
    ----------
    input : array_like
        The forward input ``(N, C_in, {spatial})`` or ``(C_in, {spatial})``.
    weight_shape : tuple of int
        ``(C_out, C_in // groups, {kernel})``.
    grad_output : array_like
        ``(N, C_out, {out_spatial})`` (unbatched if ``input`` is).
    stride, padding, dilation, groups
        As for :func:`fastconv.conv{nd}d`.
    padding_mode : {{'zeros', 'reflect', 'replicate', 'circular'}}, default 'zeros'
        As for :func:`fastconv.conv{nd}d`.
    algorithm : {{'auto', 'im2col'}}, default 'auto'
        The reduction is the im2col algorithm's GEMM, the only algorithm of a
        weight gradient; 'auto' runs it too.

    Returns
    -------
    ndarray
        Of shape ``weight_shape``; dtype of ``input`` and ``grad_output``.

    Raises
    ------
    ValueError
        For inconsistent shapes, bad parameters, or an ``algorithm`` other
        than 'auto' and 'im2col'.
    TypeError
        For a ``weight_shape`` that is not a tuple, or non-numeric dtypes.

    See Also
    --------
    fastconv.grad.conv{nd}d_input : the input gradient.
    fastconv.grad.bias : the bias gradient.
    fastconv.reference.grad.conv{nd}d_weight : the float64 definition.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal({xshape})
    >>> w = rng.standard_normal({wshape})
    >>> g = rng.standard_normal(fastconv.conv_output_shape(x.shape, w.shape, padding=1))
    >>> gw = fastconv.grad.conv{nd}d_weight(x, w.shape, g, padding=1)
    >>> ref = fastconv.reference.grad.conv{nd}d_weight(x, w.shape, g, padding=1)
    >>> bool(np.allclose(gw, ref))
    True
"""

_T_INPUT_DOC = """Gradient of ``conv_transpose{nd}d`` with respect to its input.

    The adjoint of a transposed convolution is a convolution:
    ``grad_input = conv{nd}d(grad_output, weight, stride, padding, dilation,
    groups)`` (cropped or zero-extended so its size is the input's).

    Complex arrays follow PyTorch's conjugate (Wirtinger) convention: the
    gradient with ``weight`` conjugated (see the module's docstring).

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, {spatial})`` or unbatched ``(C_in, {spatial})``.
    weight : array_like
        ``(C_in, C_out // groups, {kernel})``.
    grad_output : array_like
        Gradient with respect to the transposed convolution's output.
    stride, padding, output_padding, groups, dilation
        As for :func:`fastconv.conv_transpose{nd}d` (same order).
    algorithm : {{'auto', 'direct', 'im2col', 'winograd'}}, default 'auto'
        Algorithm of the convolution it runs, as for :func:`fastconv.conv{nd}d`
        ('winograd' needs stride 1 and 3 or 1 taps along every axis).

    Returns
    -------
    ndarray
        Of shape ``input_shape``.

    Raises
    ------
    ValueError
        For inconsistent shapes, bad parameters, or ``algorithm='winograd'``
        on a kernel or stride it does not apply to.
    TypeError
        For an ``input_shape`` that is not a tuple, or non-numeric dtypes.

    See Also
    --------
    fastconv.grad.conv_transpose{nd}d_weight : the weight gradient.
    fastconv.reference.grad.conv_transpose{nd}d_input : the float64 definition.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal({xshape})
    >>> w = rng.standard_normal({twshape})
    >>> y = fastconv.conv_transpose{nd}d(x, w, stride=2, padding=1, output_padding=1)
    >>> g = rng.standard_normal(y.shape)
    >>> gx = fastconv.grad.conv_transpose{nd}d_input(x.shape, w, g, stride=2, padding=1,
    ...                                             output_padding=1)
    >>> bool(np.isclose(np.vdot(y, g), np.vdot(x, gx)))
    True
"""

_T_WEIGHT_DOC = """Gradient of ``conv_transpose{nd}d`` with respect to its weight.

    ``grad_weight[c, o, t] = sum_n sum_i x[n, c, i] * grad_output[n, o, i * stride
    - padding + t * dilation]``, the same reduction as
    :func:`fastconv.grad.conv{nd}d_weight` with the roles of input and output
    exchanged.

    Complex arrays follow PyTorch's conjugate (Wirtinger) convention: the
    gradient with ``input`` conjugated (see the module's docstring).

    Parameters
    ----------
    input : array_like
        The forward input ``(N, C_in, {spatial})`` or ``(C_in, {spatial})``.
    weight_shape : tuple of int
        ``(C_in, C_out // groups, {kernel})``.
    grad_output : array_like
        Gradient with respect to the transposed convolution's output.
    stride, padding, output_padding, groups, dilation
        As for :func:`fastconv.conv_transpose{nd}d`.
    algorithm : {{'auto', 'im2col'}}, default 'auto'
        The reduction is the im2col algorithm's GEMM, the only algorithm of a
        weight gradient; 'auto' runs it too.

    Returns
    -------
    ndarray
        Of shape ``weight_shape``.

    Raises
    ------
    ValueError
        For inconsistent shapes, bad parameters, or an ``algorithm`` other
        than 'auto' and 'im2col'.
    TypeError
        For a ``weight_shape`` that is not a tuple, or non-numeric dtypes.

    See Also
    --------
    fastconv.grad.conv_transpose{nd}d_input : the input gradient.
    fastconv.reference.grad.conv_transpose{nd}d_weight : the float64 definition.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal({xshape})
    >>> w_shape = {twshape}
    >>> g = rng.standard_normal(fastconv.conv_transpose_output_shape(x.shape, w_shape,
    ...                                                             stride=2))
    >>> gw = fastconv.grad.conv_transpose{nd}d_weight(x, w_shape, g, stride=2)
    >>> ref = fastconv.reference.grad.conv_transpose{nd}d_weight(x, w_shape, g, stride=2)
    >>> bool(np.allclose(gw, ref))
    True
"""


def conv1d_input(input_shape, weight, grad_output, stride=1, padding=0, dilation=1, groups=1,
                 padding_mode="zeros", *, algorithm="auto"):
    return _conv_input(1, input_shape, weight, grad_output, stride, padding, dilation, groups,
                       padding_mode, algorithm)


def conv2d_input(input_shape, weight, grad_output, stride=1, padding=0, dilation=1, groups=1,
                 padding_mode="zeros", *, algorithm="auto"):
    return _conv_input(2, input_shape, weight, grad_output, stride, padding, dilation, groups,
                       padding_mode, algorithm)


def conv3d_input(input_shape, weight, grad_output, stride=1, padding=0, dilation=1, groups=1,
                 padding_mode="zeros", *, algorithm="auto"):
    return _conv_input(3, input_shape, weight, grad_output, stride, padding, dilation, groups,
                       padding_mode, algorithm)


def conv1d_weight(input, weight_shape, grad_output, stride=1, padding=0, dilation=1, groups=1,
                  padding_mode="zeros", *, algorithm="auto"):
    return _conv_weight(1, input, weight_shape, grad_output, stride, padding, dilation, groups,
                        padding_mode, algorithm)


def conv2d_weight(input, weight_shape, grad_output, stride=1, padding=0, dilation=1, groups=1,
                  padding_mode="zeros", *, algorithm="auto"):
    return _conv_weight(2, input, weight_shape, grad_output, stride, padding, dilation, groups,
                        padding_mode, algorithm)


def conv3d_weight(input, weight_shape, grad_output, stride=1, padding=0, dilation=1, groups=1,
                  padding_mode="zeros", *, algorithm="auto"):
    return _conv_weight(3, input, weight_shape, grad_output, stride, padding, dilation, groups,
                        padding_mode, algorithm)


def conv_transpose1d_input(input_shape, weight, grad_output, stride=1, padding=0,
                           output_padding=0, groups=1, dilation=1, *, algorithm="auto"):
    return _conv_transpose_input(1, input_shape, weight, grad_output, stride, padding,
                                 output_padding, groups, dilation, algorithm)


def conv_transpose2d_input(input_shape, weight, grad_output, stride=1, padding=0,
                           output_padding=0, groups=1, dilation=1, *, algorithm="auto"):
    return _conv_transpose_input(2, input_shape, weight, grad_output, stride, padding,
                                 output_padding, groups, dilation, algorithm)


def conv_transpose3d_input(input_shape, weight, grad_output, stride=1, padding=0,
                           output_padding=0, groups=1, dilation=1, *, algorithm="auto"):
    return _conv_transpose_input(3, input_shape, weight, grad_output, stride, padding,
                                 output_padding, groups, dilation, algorithm)


def conv_transpose1d_weight(input, weight_shape, grad_output, stride=1, padding=0,
                            output_padding=0, groups=1, dilation=1, *, algorithm="auto"):
    return _conv_transpose_weight(1, input, weight_shape, grad_output, stride, padding,
                                  output_padding, groups, dilation, algorithm)


def conv_transpose2d_weight(input, weight_shape, grad_output, stride=1, padding=0,
                            output_padding=0, groups=1, dilation=1, *, algorithm="auto"):
    return _conv_transpose_weight(2, input, weight_shape, grad_output, stride, padding,
                                  output_padding, groups, dilation, algorithm)


def conv_transpose3d_weight(input, weight_shape, grad_output, stride=1, padding=0,
                            output_padding=0, groups=1, dilation=1, *, algorithm="auto"):
    return _conv_transpose_weight(3, input, weight_shape, grad_output, stride, padding,
                                  output_padding, groups, dilation, algorithm)


for _nd, _fs in ((1, (conv1d_input, conv1d_weight, conv_transpose1d_input,
                      conv_transpose1d_weight)),
                 (2, (conv2d_input, conv2d_weight, conv_transpose2d_input,
                      conv_transpose2d_weight)),
                 (3, (conv3d_input, conv3d_weight, conv_transpose3d_input,
                      conv_transpose3d_weight))):
    _fmt = dict(SPATIAL_NAMES[_nd], nd=_nd, xshape=(2, 3) + (7,) * _nd,
                wshape=(4, 3) + (3,) * _nd, twshape=(3, 2) + (3,) * _nd)
    for _f, _doc in zip(_fs, (_INPUT_DOC, _WEIGHT_DOC, _T_INPUT_DOC, _T_WEIGHT_DOC)):
        _f.__module__ = "fastconv.grad"
        _f.__doc__ = _doc.format(**_fmt)
del _nd, _fs, _fmt, _f, _doc


# --------------------------------------------------------------------------
# Variants: every gradient at once, composed from the core gradients.
# --------------------------------------------------------------------------
DepthwiseGrads = namedtuple("DepthwiseGrads", "input weight bias")
SeparableGrads = namedtuple("SeparableGrads", "input depthwise_weight pointwise_weight bias")
SpatiallySeparableGrads = namedtuple("SpatiallySeparableGrads",
                                     "input column_weight row_weight bias")


def _batched_bias(gy, batched):
    return bias(gy if batched else np.asarray(gy)[None])


def _depthwise_groups(x, weight, name="weight"):
    x = _complex.as_any_array(x, "input")
    w = _complex.as_any_array(weight, name)
    if x.ndim not in (3, 4) or w.ndim != 4:
        raise ValueError(f"depthwise_conv2d expects an input (N, C, H, W) or (C, H, W) and a "
                         f"{name} (C * m, 1, kh, kw), got input {x.shape} and {name} {w.shape}")
    c = x.shape[-3]
    if w.shape[1] != 1 or c == 0 or w.shape[0] % c:
        raise ValueError(f"a depthwise {name} must be (C * m, 1, kh, kw) for C = {c} input "
                         f"channels, got {w.shape}")
    return x, w, c


def depthwise_conv2d(input, weight, grad_output, stride=1, padding=0, dilation=1, *,
                     padding_mode="zeros", algorithm="auto"):
    """All gradients of :func:`fastconv.depthwise_conv2d` at once.

    ``depthwise_conv2d`` is ``conv2d(..., groups=C)``; its gradients are
    :func:`conv2d_input`, :func:`conv2d_weight` and :func:`bias` with
    ``groups=C``.

    Parameters
    ----------
    input : array_like
        The forward input ``(N, C, H, W)`` or ``(C, H, W)``.
    weight : array_like
        ``(C * m, 1, kh, kw)``.
    grad_output : array_like
        Gradient with respect to the output ``(N, C * m, out_h, out_w)``.
    stride, padding, dilation, padding_mode
        As for :func:`fastconv.depthwise_conv2d`.
    algorithm : {'auto', 'direct', 'im2col', 'winograd'}, default 'auto'
        As for :func:`fastconv.depthwise_conv2d`: it runs the input gradient;
        the weight gradient runs the GEMM (see :func:`conv2d_weight`).

    Returns
    -------
    DepthwiseGrads
        Named tuple ``(input, weight, bias)`` of the three gradients.

    Raises
    ------
    ValueError
        For a weight that is not ``(C * m, 1, kh, kw)`` and every error of
        :func:`conv2d_input` / :func:`conv2d_weight`.

    See Also
    --------
    fastconv.depthwise_conv2d : the forward pass.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((2, 3, 8, 8))
    >>> w = rng.standard_normal((6, 1, 3, 3))                  # multiplier 2
    >>> y = fastconv.depthwise_conv2d(x, w, padding=1)
    >>> g = fastconv.grad.depthwise_conv2d(x, w, np.ones_like(y), padding=1)
    >>> g.input.shape, g.weight.shape, g.bias.shape
    ((2, 3, 8, 8), (6, 1, 3, 3), (6,))
    """
    x, w, c = _depthwise_groups(input, weight)
    gx = conv2d_input(x.shape, w, grad_output, stride, padding, dilation, c, padding_mode,
                      algorithm=algorithm)
    gw = conv2d_weight(x, w.shape, grad_output, stride, padding, dilation, c, padding_mode)
    return DepthwiseGrads(gx, gw, _batched_bias(grad_output, x.ndim == 4))


def separable_conv2d(input, depthwise_weight, pointwise_weight, grad_output, stride=1,
                     padding=0, dilation=1, *, padding_mode="zeros", algorithm="auto"):
    """All gradients of :func:`fastconv.separable_conv2d` at once.

    The depthwise stage's output ``z`` is recomputed, then the pointwise
    stage's gradients (a 1x1 convolution's: two GEMMs) and the depthwise
    stage's (:func:`depthwise_conv2d`) are chained.

    Parameters
    ----------
    input : array_like
        The forward input ``(N, C, H, W)`` or ``(C, H, W)``.
    depthwise_weight : array_like
        ``(C * m, 1, kh, kw)``.
    pointwise_weight : array_like
        ``(C_out, C * m, 1, 1)``.
    grad_output : array_like
        Gradient with respect to the output ``(N, C_out, out_h, out_w)``.
    stride, padding, dilation, padding_mode
        As for :func:`fastconv.separable_conv2d`.
    algorithm : {'auto', 'direct', 'im2col', 'winograd'}, default 'auto'
        As for :func:`fastconv.separable_conv2d`: it runs the depthwise stage
        recomputed and its input gradient; the pointwise stage's gradients
        and the weight gradients run as for 'auto'.

    Returns
    -------
    SeparableGrads
        Named tuple ``(input, depthwise_weight, pointwise_weight, bias)``.

    Raises
    ------
    ValueError
        For weights of the wrong shapes and every error of the core gradients.

    See Also
    --------
    fastconv.separable_conv2d : the forward pass.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((1, 4, 9, 9))
    >>> dw, pw = rng.standard_normal((4, 1, 3, 3)), rng.standard_normal((8, 4, 1, 1))
    >>> y = fastconv.separable_conv2d(x, dw, pw, padding=1)
    >>> g = fastconv.grad.separable_conv2d(x, dw, pw, np.ones_like(y), padding=1)
    >>> g.pointwise_weight.shape, g.input.shape
    ((8, 4, 1, 1), (1, 4, 9, 9))
    """
    x, dw, c = _depthwise_groups(input, depthwise_weight, "depthwise_weight")
    pw = _complex.as_any_array(pointwise_weight, "pointwise_weight")
    if pw.ndim != 4 or pw.shape[1:] != (dw.shape[0], 1, 1):
        raise ValueError(f"pointwise_weight must be (C_out, {dw.shape[0]}, 1, 1) for a "
                         f"depthwise_weight {dw.shape}, got {pw.shape}")
    z = conv2d(x, dw, None, stride, padding, dilation, c, padding_mode=padding_mode,
               algorithm=algorithm)
    # The pointwise stage: the forward runs it on 'auto' (or fused), whatever the algorithm.
    gpw = conv2d_weight(z, pw.shape, grad_output)
    gz = conv2d_input(z.shape, pw, grad_output)
    d = depthwise_conv2d(x, dw, gz, stride, padding, dilation, padding_mode=padding_mode,
                         algorithm=algorithm)
    return SeparableGrads(d.input, d.weight, gpw, _batched_bias(grad_output, x.ndim == 4))


def spatially_separable_conv2d(input, column_weight, row_weight, grad_output, stride=1,
                               padding=0, dilation=1, groups=1, *, padding_mode="zeros",
                               algorithm="auto"):
    """All gradients of :func:`fastconv.spatially_separable_conv2d` at once.

    The input is padded once for the whole ``(kh, kw)`` kernel (with
    ``padding_mode``), the column stage's output is recomputed, and the two
    stages' gradients are chained; the gradient of the padded border is then
    folded back onto the input.

    Parameters
    ----------
    input : array_like
        The forward input ``(N, C_in, H, W)`` or ``(C_in, H, W)``.
    column_weight : array_like
        ``(C_mid, C_in // groups, kh, 1)``.
    row_weight : array_like
        ``(C_out, C_mid // groups, 1, kw)``.
    grad_output : array_like
        Gradient with respect to the output.
    stride, padding, dilation, groups, padding_mode
        As for :func:`fastconv.spatially_separable_conv2d`.
    algorithm : {'auto', 'direct', 'im2col', 'winograd'}, default 'auto'
        As for :func:`fastconv.spatially_separable_conv2d`: it runs the column
        stage recomputed and both input gradients; the weight gradients run
        the GEMM (see :func:`conv2d_weight`).

    Returns
    -------
    SpatiallySeparableGrads
        Named tuple ``(input, column_weight, row_weight, bias)``.

    Raises
    ------
    ValueError
        For weights of the wrong shapes and every error of the core gradients.

    See Also
    --------
    fastconv.spatially_separable_conv2d : the forward pass.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((1, 2, 8, 8))
    >>> cw, rw = rng.standard_normal((3, 2, 3, 1)), rng.standard_normal((4, 3, 1, 3))
    >>> y = fastconv.spatially_separable_conv2d(x, cw, rw, padding="same")
    >>> g = fastconv.grad.spatially_separable_conv2d(x, cw, rw, np.ones_like(y), padding="same")
    >>> g.column_weight.shape, g.row_weight.shape, g.input.shape
    ((3, 2, 3, 1), (4, 3, 1, 3), (1, 2, 8, 8))
    """
    x = _complex.as_any_array(input, "input")
    cw = _complex.as_any_array(column_weight, "column_weight")
    rw = _complex.as_any_array(row_weight, "row_weight")
    if cw.ndim != 4 or cw.shape[3] != 1 or rw.ndim != 4 or rw.shape[2] != 1:
        raise ValueError(f"column_weight must be (C_mid, C_in // groups, kh, 1) and row_weight "
                         f"(C_out, C_mid // groups, 1, kw), got {cw.shape} and {rw.shape}")
    if x.ndim not in (3, 4):
        raise ValueError(f"input must be (N, C_in, H, W) or (C_in, H, W), got {x.shape}")
    batched = x.ndim == 4
    xb = x if batched else x[None]
    kernel = (cw.shape[2], rw.shape[3])
    check_algorithm(algorithm)
    g = _geometry(2, xb.shape, (rw.shape[0], cw.shape[1]) + kernel, stride, padding, dilation,
                  groups, padding_mode, "input", "weights")
    gy = _complex.as_any_array(grad_output, "grad_output")
    gyb = gy if batched else gy[None]
    dtype = _complex.whole_dtype(xb, cw, rw, gyb)
    xpad = pad_spatial(np.asarray(xb, dtype=_complex.part_dtype(xb, dtype)), g.pad_before,
                       g.pad_after, padding_mode)
    (sh, sw), (dh, dw) = g.stride, g.dilation
    z = conv2d(xpad, cw, None, (sh, 1), 0, (dh, 1), groups, algorithm=algorithm)
    row = dict(stride=(1, sw), dilation=(1, dw), groups=groups)
    col = dict(stride=(sh, 1), dilation=(dh, 1), groups=groups)
    grw = conv2d_weight(z, rw.shape, gyb, **row)
    gz = conv2d_input(z.shape, rw, gyb, algorithm=algorithm, **row)
    gcw = conv2d_weight(xpad, cw.shape, gz, **col)
    gxpad = conv2d_input(xpad.shape, cw, gz, algorithm=algorithm, **col)
    gx = _fold_padding(gxpad, g.in_spatial, g.pad_before, padding_mode)
    return SpatiallySeparableGrads(gx if batched else gx[0], gcw, grw, bias(gyb))


for _f in (depthwise_conv2d, separable_conv2d, spatially_separable_conv2d):
    _f.__module__ = "fastconv.grad"
del _f


OctaveGrads = namedtuple("OctaveGrads",
                         "x_high x_low w_hh w_hl w_lh w_ll bias_high bias_low")


def _sum_pool2(g):
    """The adjoint of 2x nearest upsampling: each 2x2 block summed."""
    s = g.shape
    return g.reshape(s[:-2] + (s[-2] // 2, 2, s[-1] // 2, 2)).sum(axis=(-3, -1))


def _avgpool2_adjoint(g):
    """The adjoint of 2x2 average pooling: each value spread over its block, / 4."""
    return np.repeat(np.repeat(g, 2, axis=-2), 2, axis=-1) * 0.25


def octave_conv2d(x_high, x_low, w_hh, w_hl, w_lh, w_ll, grad_high, grad_low=None, stride=1,
                  padding=0, *, algorithm="auto"):
    """All gradients of :func:`fastconv.octave_conv2d` at once.

    With ``y_high = conv(x_high, w_hh) + up(conv(x_low, w_lh))`` and
    ``y_low = conv(x_low, w_ll) + conv(pool(x_high), w_hl)`` (after the 2x2
    pooling of both inputs when ``stride=2``), each path's input and weight
    gradients come from :func:`conv2d_input` and :func:`conv2d_weight`; the
    nearest upsampling's adjoint sums each 2x2 block of ``grad_high``, the
    average pooling's adjoint spreads each value over its block divided by 4.

    Parameters
    ----------
    x_high, x_low, w_hh, w_hl, w_lh, w_ll
        The forward call's inputs and weights (``None`` where the forward had
        none: a first layer without ``x_low``, a last one without ``w_hl``).
    grad_high : array_like
        Gradient with respect to ``y_high``.
    grad_low : array_like or None
        Gradient with respect to ``y_low``; None exactly when there is no low
        output.
    stride, padding
        As for :func:`fastconv.octave_conv2d`.
    algorithm : {'auto', 'direct', 'im2col', 'winograd'}, default 'auto'
        As for :func:`fastconv.octave_conv2d`: it runs the input gradients of
        the four paths; the weight gradients run the GEMM (see
        :func:`conv2d_weight`).

    Returns
    -------
    OctaveGrads
        Named tuple ``(x_high, x_low, w_hh, w_hl, w_lh, w_ll, bias_high,
        bias_low)``; the entries of absent inputs, weights or outputs are None.

    Raises
    ------
    ValueError
        For every error of the forward function, and gradients whose shapes
        are not those of the forward outputs.

    See Also
    --------
    fastconv.octave_conv2d : the forward pass.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> rng = np.random.default_rng(0)
    >>> xh, xl = rng.standard_normal((1, 4, 8, 8)), rng.standard_normal((1, 2, 4, 4))
    >>> ws = [rng.standard_normal(s) for s in [(3, 4, 3, 3), (5, 4, 3, 3),
    ...                                        (3, 2, 3, 3), (5, 2, 3, 3)]]
    >>> yh, yl = fastconv.octave_conv2d(xh, xl, *ws, padding=1)
    >>> g = fastconv.grad.octave_conv2d(xh, xl, *ws, np.ones_like(yh), np.ones_like(yl),
    ...                                 padding=1)
    >>> g.x_high.shape, g.x_low.shape, g.w_ll.shape, g.bias_low.shape
    ((1, 4, 8, 8), (1, 2, 4, 4), (5, 2, 3, 3), (5,))
    """
    problem, xh, xl, ws = prepare_octave(x_high, x_low, w_hh, w_hl, w_lh, w_ll, None, None,
                                         stride, padding, algorithm)
    gh = _complex.as_any_array(grad_high, "grad_high")
    gl = None if grad_low is None else _complex.as_any_array(grad_low, "grad_low")
    for name, g, want in (("grad_high", gh, problem.high_shape),
                          ("grad_low", gl, problem.low_shape)):
        if (g is None) != (want is None):
            raise ValueError(f"{name} is {'None' if g is None else 'given'}, but the forward "
                             f"call has {'an' if want is not None else 'no'} output for it")
        if g is not None and g.shape != want:
            raise ValueError(f"{name} must have the shape of the forward output {want}, "
                             f"got {g.shape}")
    # Complex arrays: every path in the complex dtype (each gradient of a path
    # follows PyTorch's conjugate convention, so their sums do too).
    dtype = _complex.whole_dtype(xh, xl, gh, gl, *ws.values())

    def prep(a):
        a = np.ascontiguousarray(a, dtype=dtype)
        return a if problem.batched else a[None]

    xh, gh = prep(xh), prep(gh)
    xl = None if xl is None else prep(xl)
    gl = None if gl is None else prep(gl)
    ws = {nm: (None if w is None else np.ascontiguousarray(w, dtype=dtype))
          for nm, w in ws.items()}
    g_w, g_xh_p, g_xl_p = _octave_core(problem, xh, xl, ws, gh, gl, algorithm)
    if problem.stride == 2:
        g_xh = _avgpool2_adjoint(g_xh_p)
        g_xl = None if g_xl_p is None else _avgpool2_adjoint(g_xl_p)
    else:
        g_xh, g_xl = g_xh_p, g_xl_p
    if not problem.batched:
        g_xh = g_xh[0]
        g_xl = None if g_xl is None else g_xl[0]
    return OctaveGrads(g_xh, g_xl, g_w["w_hh"], g_w["w_hl"], g_w["w_lh"], g_w["w_ll"],
                       gh.sum(axis=(0, 2, 3)), None if gl is None else gl.sum(axis=(0, 2, 3)))


def _octave_core(problem, xh, xl, ws, gh, gl, algorithm):
    """The weight gradients and the gradients of the (pooled, when stride=2)
    inputs of an octave convolution, path by path (batched arrays)."""
    if problem.stride == 2:
        xh = avgpool2(xh)
        xl = None if xl is None else avgpool2(xl)
    pad_hi, pad_lo = problem.pad_high, problem.pad_low
    g_w = dict.fromkeys(OCTAVE_WEIGHTS)
    g_w["w_hh"] = conv2d_weight(xh, ws["w_hh"].shape, gh, 1, pad_hi)
    g_xh = conv2d_input(xh.shape, ws["w_hh"], gh, 1, pad_hi, algorithm=algorithm)
    g_xl = None
    if xl is not None:
        gu = _sum_pool2(gh)
        g_w["w_lh"] = conv2d_weight(xl, ws["w_lh"].shape, gu, 1, pad_lo)
        g_xl = conv2d_input(xl.shape, ws["w_lh"], gu, 1, pad_lo, algorithm=algorithm)
    if gl is not None:
        pooled = avgpool2(xh)
        g_w["w_hl"] = conv2d_weight(pooled, ws["w_hl"].shape, gl, 1, pad_lo)
        g_xh += _avgpool2_adjoint(conv2d_input(pooled.shape, ws["w_hl"], gl, 1, pad_lo,
                                               algorithm=algorithm))
        if xl is not None:
            g_w["w_ll"] = conv2d_weight(xl, ws["w_ll"].shape, gl, 1, pad_lo)
            g_xl += conv2d_input(xl.shape, ws["w_ll"], gl, 1, pad_lo, algorithm=algorithm)
    return g_w, g_xh, g_xl
