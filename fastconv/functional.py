"""The public convolution functions: validate, choose, compute.

Each function is a thin layer over one pipeline: :mod:`fastconv._args` turns
the arguments into a validated problem and kernel-ready arrays,
:mod:`fastconv._dispatch` chooses the algorithm and calls one kernel.
"""
from fastconv import _complex
from fastconv._args import from_channels_first, prepare_conv, to_channels_first
from fastconv._dispatch import run_conv
from fastconv._docstrings import SPATIAL_NAMES

__all__ = ["conv1d", "conv2d", "conv3d"]


def _conv(nd, x, weight, bias, stride, padding, dilation, groups, padding_mode, algorithm, out,
          layout):
    if _complex.is_complex(x, weight, bias):
        def real(xr, wr, fill):
            return _conv(nd, xr, wr, None, stride, padding, dilation, groups, padding_mode,
                         algorithm, None, layout)
        return _complex.compose_conv(real, nd, layout, x, weight, bias, out)
    if layout == "channels_first":      # (the common case, without the views)
        out_cf = out
    else:
        x = to_channels_first(x, layout, nd)
        out_cf = to_channels_first(out, layout, nd, "out")
    problem, x, weight, bias, out_cf = prepare_conv(nd, x, weight, bias, stride, padding,
                                                    dilation, groups, padding_mode, algorithm,
                                                    out_cf)
    result = run_conv(problem, x, weight, bias, out_cf, layout=layout)
    return out if out is not None else from_channels_first(result, layout, nd)


_DOC = """{nd}-D convolution (cross-correlation) of a channels-first array.

    ``y[n, o, p] = bias[o] + sum_c sum_t weight[o, c, t] * x_pad[n, g(o) * C_in/groups + c,
    p * stride + t * dilation]``, summed over the ``C_in // groups`` input
    channels of output channel ``o``'s group and over the kernel taps ``t``;
    the semantics of ``torch.nn.functional.conv{nd}d``.

    Complex ``x``, ``weight`` and ``bias`` (complex64, complex128, mixed
    with real arrays) are accepted with PyTorch's semantics: the products
    ``weight * x`` are not conjugated. The result is composed from real
    convolutions of the real and imaginary parts, so every algorithm serves
    complex arrays (see the user guide's page on complex numbers).

    Parameters
    ----------
    x : array_like
        Input of shape ``(N, C_in, {spatial})``, or unbatched
        ``(C_in, {spatial})``. Any memory layout; never modified.
    weight : array_like
        Filters of shape ``(C_out, C_in // groups, {kernel})``.
    bias : array_like, optional
        Shape ``(C_out,)``.
    stride : int or tuple of {nd} ints, default 1
        Step between output positions, each >= 1.
    padding : int, tuple, 'valid' or 'same', default 0
        An int for every side, one int per spatial dim, one ``(before, after)``
        pair per spatial dim (asymmetric), ``'valid'`` (none) or ``'same'``
        (output size ``ceil(in / stride)``, TensorFlow's rule, for every stride;
        an odd total puts the extra element after).
    dilation : int or tuple of {nd} ints, default 1
        Spacing between kernel taps, each >= 1.
    groups : int, default 1
        Input and output channels split into ``groups`` independent groups;
        ``groups == C_in`` is a depthwise convolution.
    padding_mode : {{'zeros', 'reflect', 'replicate', 'circular'}}, default 'zeros'
        What the padding holds, as in PyTorch. 'reflect' needs padding smaller
        than the input, 'circular' at most the input.
    algorithm : {{'auto', 'direct', 'im2col', 'winograd'}}, default 'auto'
        How to compute (the docs' Algorithms page describes each). 'direct'
        and 'im2col' accept every combination of the parameters above.
        'winograd' (F(2, 3)) needs stride 1 and, along every spatial axis, 3
        or 1 taps with at least one axis of 3 (any padding, dilation and
        groups); it raises ValueError otherwise. 'auto' applies a fixed rule
        to the shape, set from measurements on the development machine:
        'direct' for grouped layers of few channels per group and dense 2-D
        layers of 2 to 16 input and at most 64 output channels, else
        'winograd' where it applies with at least 16 input and 16 output
        channels per group and at least 100 output tiles (40 with at least
        128 channels per group and at most 8 MiB of transformed weights),
        else 'im2col' with at least 8 output channels per group and
        ``C_in // groups * prod(kernel) >= 16``, else 'direct'.
    out : ndarray, optional
        Array of exactly the result's shape and dtype to write into; it must
        not overlap an input.
    layout : {{'channels_first', 'channels_last'}}, default 'channels_first'
        Where the channel axis of ``x`` and of the result is: ``(N, C, {spatial})``
        as in PyTorch, or ``(N, {spatial}, C)`` as in TensorFlow/Keras and
        image arrays. The weight has the same format in both.

    Returns
    -------
    ndarray
        Shape ``(N, C_out, {out_spatial})`` (unbatched if ``x`` was; channels
        last with ``layout='channels_last'``), dtype
        ``np.result_type`` of the float inputs (integer and bool inputs are
        computed in float64); complex when an argument is complex, the complex
        dtype of that rule applied to the real parts (complex64 with float64
        gives complex128, as ``np.result_type``). Each output size is
        ``floor((in + pad_before + pad_after - dilation * (k - 1) - 1) / stride) + 1``.

    Raises
    ------
    ValueError
        For inconsistent shapes, bad stride/padding/dilation/groups, an unknown
        padding string, padding_mode, algorithm or layout, 'reflect' or
        'circular' padding beyond their limits, a dilated kernel larger than
        the padded input, ``algorithm='winograd'`` on a kernel or stride it
        does not apply to, or a bad ``out``.
    TypeError
        For object, string and other non-numeric dtypes, and extended
        precision (longdouble, clongdouble).

    See Also
    --------
    fastconv.conv_output_shape : the output shape without computing.
    fastconv.reference.conv{nd}d : the slow float64 definition.

    Examples
    --------
{example}
"""

_EXAMPLES = {
    1: """    >>> import numpy as np, fastconv
    >>> x = np.arange(8, dtype=np.float32).reshape(1, 1, 8)
    >>> w = np.array([[[1.0, 0.0, -1.0]]], dtype=np.float32)
    >>> fastconv.conv1d(x, w)
    array([[[-2., -2., -2., -2., -2., -2.]]], dtype=float32)
    >>> fastconv.conv1d(x, w, stride=2, padding="same").shape
    (1, 1, 4)""",
    2: """    >>> import numpy as np, fastconv
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    >>> w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    >>> y = fastconv.conv2d(x, w, padding=1)
    >>> y.shape, y.dtype
    ((2, 8, 32, 32), dtype('float32'))
    >>> ref = fastconv.reference.conv2d(x, w, padding=1)
    >>> bool(np.allclose(y, ref, rtol=1e-4, atol=1e-4))
    True
    >>> fastconv.conv2d(x, w, stride=2, dilation=2, padding=((1, 2), (0, 1))).shape
    (2, 8, 16, 15)
    >>> image = rng.standard_normal((32, 32, 3))      # (H, W, C), unbatched
    >>> fastconv.conv2d(image, w, padding=1, layout="channels_last").shape
    (32, 32, 8)

    Complex arrays, without conjugation (PyTorch's semantics):

    >>> xc = np.array([[[[1 + 1j, 2.0, 1j]]]], dtype=np.complex64)
    >>> wc = np.array([[[[1j, 1.0]]]], dtype=np.complex64)
    >>> fastconv.conv2d(xc, wc)
    array([[[[1.+1.j, 0.+3.j]]]], dtype=complex64)""",
    3: """    >>> import numpy as np, fastconv
    >>> x = np.ones((1, 2, 4, 5, 6))          # float64 in, float64 out
    >>> w = np.ones((4, 1, 3, 3, 3))          # groups=2: each output sees 1 channel
    >>> y = fastconv.conv3d(x, w, groups=2, padding="valid")
    >>> y.shape, float(y[0, 0, 0, 0, 0])
    ((1, 4, 2, 3, 4), 27.0)""",
}


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros", algorithm="auto", out=None, layout="channels_first"):
    return _conv(1, x, weight, bias, stride, padding, dilation, groups, padding_mode, algorithm,
                 out, layout)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros", algorithm="auto", out=None, layout="channels_first"):
    return _conv(2, x, weight, bias, stride, padding, dilation, groups, padding_mode, algorithm,
                 out, layout)


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros", algorithm="auto", out=None, layout="channels_first"):
    return _conv(3, x, weight, bias, stride, padding, dilation, groups, padding_mode, algorithm,
                 out, layout)


for _nd, _f in ((1, conv1d), (2, conv2d), (3, conv3d)):
    _f.__module__ = "fastconv"
    _f.__doc__ = _DOC.format(nd=_nd, example=_EXAMPLES[_nd], **SPATIAL_NAMES[_nd])
del _nd, _f
