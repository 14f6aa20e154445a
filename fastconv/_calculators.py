"""Calculators: multiply-accumulates, parameters and receptive fields.

Nothing here computes a convolution: the functions count, from shapes alone,
what a layer costs and what it sees. Multiply-accumulates (MACs) are those of
the direct definition, whatever algorithm runs (a FLOP count is 2 x MACs).
"""
import math

from fastconv._args import conv_output_shape, is_int, per_dim

__all__ = ["count_macs", "count_params", "receptive_field"]

#: The ``op`` names :func:`count_macs` accepts.
OPS = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
       "conv_transpose3d", "depthwise", "separable", "spatially_separable", "octave",
       "correlate", "convolve")


def _shape(value, name):
    try:
        shape = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of ints, got {value!r}") from None
    if any(v < 0 for v in shape):
        raise ValueError(f"{name} must be non-negative, got {shape}")
    return shape


def _conv_macs(input_shape, weight_shape, stride, padding, dilation, groups):
    nd = len(weight_shape) - 2
    if not is_int(groups) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    c_in = input_shape[-nd - 1]
    if c_in != weight_shape[1] * groups:
        raise ValueError(f"input has {c_in} channels, but weight_shape {weight_shape} with "
                         f"groups={groups} expects {weight_shape[1] * groups}")
    out = conv_output_shape(input_shape, weight_shape, stride, padding, dilation)
    return math.prod(out) * math.prod(weight_shape[1:])


def count_macs(op, input_shape, weight_shape, stride=1, padding=0, dilation=1, groups=1, *,
               mode="full", alpha=0.5):
    """Multiply-accumulates of one layer of the direct definition.

    Parameters
    ----------
    op : str
        What the layer computes; ``input_shape`` and ``weight_shape`` read as:

        ``"conv1d"``, ``"conv2d"``, ``"conv3d"``
            ``(N, C_in, *spatial)`` (or unbatched) and ``(C_out, C_in // groups,
            *kernel)``: output elements times ``C_in // groups * prod(kernel)``.
        ``"conv_transpose1d"`` ... ``"conv_transpose3d"``
            ``(N, C_in, *spatial)`` and ``(C_in, C_out // groups, *kernel)``:
            every input element is scattered through ``C_out // groups *
            prod(kernel)`` taps (``stride``, ``padding`` and ``dilation`` do not
            change the count).
        ``"depthwise"``
            A convolution with ``groups = C_in``; ``weight_shape`` is
            ``(C_in * multiplier, 1, *kernel)``.
        ``"separable"``
            The depthwise-separable replacement of the standard convolution
            whose weight is ``weight_shape = (C_out, C_in, *kernel)``: a
            depthwise ``kernel`` convolution (``C_in`` filters) then a 1 x 1
            convolution ``C_in -> C_out`` on its output.
        ``"spatially_separable"``
            A kernel that is an outer product of 1-D kernels, run as one pass
            per spatial dim: the first maps ``C_in // groups -> C_out`` along dim
            0, the next ones filter each of the ``C_out`` channels along their
            dim. Each pass applies its dim's stride, padding and dilation.
        ``"octave"``
            An octave convolution with a fraction ``alpha`` of the input and
            output channels at half resolution: the four paths high->high,
            low->high, low->low and high->low (the last on the pooled input).
            ``weight_shape`` is the standard convolution's ``(C_out, C_in,
            *kernel)``.
        ``"correlate"``, ``"convolve"``
            :func:`fastconv.correlate`: ``in1`` and ``in2`` shapes (a trailing
            channel axis allowed) with ``mode``: outputs times ``in2.size``.
    input_shape, weight_shape : sequence of int
    stride, padding, dilation, groups
        As in :func:`fastconv.conv2d` (ignored by ``correlate``/``convolve``).
    mode : {'full', 'same', 'valid'}, default 'full'
        For ``correlate``/``convolve`` only.
    alpha : float, default 0.5
        For ``octave`` only: the low-frequency fraction of the channels.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        For an unknown ``op`` or mode, inconsistent shapes or bad geometry.
    TypeError
        For shapes that are not sequences of ints.

    See Also
    --------
    count_params : Parameters of a layer.
    fastconv.conv_output_shape : The output shape of a convolution.

    Examples
    --------
    256 filters of 5 x 5 x 3 over 8 x 8 output positions, and the
    depthwise-separable equivalent (4,800 + 49,152):

    >>> import fastconv
    >>> fastconv.count_macs("conv2d", (3, 12, 12), (256, 3, 5, 5))
    1228800
    >>> fastconv.count_macs("separable", (3, 12, 12), (256, 3, 5, 5))
    53952
    >>> fastconv.count_macs("correlate", (1024, 1024), (5, 5), mode="same")
    26214400
    """
    if op not in OPS:
        raise ValueError(f"op={op!r} is not one of {', '.join(OPS)}")
    input_shape = _shape(input_shape, "input_shape")
    weight_shape = _shape(weight_shape, "weight_shape")
    if op in ("correlate", "convolve"):
        return _correlate_macs(input_shape, weight_shape, mode)
    nd = len(weight_shape) - 2
    if nd < 1 or len(input_shape) not in (nd + 1, nd + 2):
        raise ValueError(f"input_shape {input_shape} and weight_shape {weight_shape} do not "
                         f"match: expected a weight (C_out, C_in // groups, *kernel) and an "
                         f"input of {nd + 1} or {nd + 2} entries")
    if op in ("conv1d", "conv2d", "conv3d") or op.startswith("conv_transpose"):
        want = int(op[-2])
        if nd != want:
            raise ValueError(f"{op} needs a weight of {want + 2} entries, got {weight_shape}")
    c_in = input_shape[-nd - 1]
    if op.startswith("conv_transpose"):
        if not is_int(groups) or groups < 1 or c_in != weight_shape[0]:
            raise ValueError(f"{op}: input has {c_in} channels, weight_shape {weight_shape} "
                             f"expects (C_in={c_in}, C_out // groups, *kernel), groups "
                             f"{groups!r}")
        return math.prod(input_shape) * math.prod(weight_shape[1:])
    if op in ("conv1d", "conv2d", "conv3d"):
        return _conv_macs(input_shape, weight_shape, stride, padding, dilation, groups)
    if op == "depthwise":
        return _conv_macs(input_shape, weight_shape, stride, padding, dilation, c_in)
    if weight_shape[1] * groups != c_in:
        raise ValueError(f"input has {c_in} channels, but weight_shape {weight_shape} "
                         f"expects {weight_shape[1] * groups}")
    if op == "separable":
        return _separable_macs(input_shape, weight_shape, stride, padding, dilation)
    if op == "spatially_separable":
        return _spatially_separable_macs(input_shape, weight_shape, stride, padding, dilation,
                                         groups)
    return _octave_macs(input_shape, weight_shape, stride, padding, dilation, alpha)


def _correlate_macs(input_shape, weight_shape, mode):
    """Outputs of :func:`fastconv.correlate` (per channel, times the channels)
    times the kernel's size."""
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"mode={mode!r} is not one of full, same, valid")
    nd = len(weight_shape)
    if nd < 1 or len(input_shape) not in (nd, nd + 1):
        raise ValueError(f"input_shape {input_shape} must have {nd} or {nd + 1} entries "
                         f"for a kernel of shape {weight_shape}")
    out = 1
    for n1, n2 in zip(input_shape, weight_shape):
        out *= {"full": n1 + n2 - 1, "same": n1, "valid": abs(n1 - n2) + 1}[mode]
    return out * math.prod(input_shape[nd:]) * math.prod(weight_shape)


def _batch(input_shape, nd):
    return input_shape[0] if len(input_shape) == nd + 2 else 1


def _separable_macs(input_shape, weight_shape, stride, padding, dilation):
    """A depthwise ``kernel`` convolution, then a 1 x 1 one ``C_in -> C_out``."""
    nd = len(weight_shape) - 2
    c_in, c_out, k = input_shape[-nd - 1], weight_shape[0], weight_shape[2:]
    dw = _conv_macs(input_shape, (c_in, 1) + k, stride, padding, dilation, c_in)
    spatial = conv_output_shape(input_shape, (c_in, 1) + k, stride, padding, dilation)[-nd:]
    return dw + _batch(input_shape, nd) * math.prod(spatial) * c_in * c_out


def _spatially_separable_macs(input_shape, weight_shape, stride, padding, dilation, groups):
    """One pass per spatial dim; the first maps ``C_in // groups -> C_out``."""
    nd = len(weight_shape) - 2
    c_in, c_out, k = input_shape[-nd - 1], weight_shape[0], weight_shape[2:]
    out_sp = conv_output_shape(input_shape, weight_shape, stride, padding, dilation)[-nd:]
    total = 0
    for d in range(nd):
        # After pass d, dims 0..d have their output size, the others the input's.
        sizes = out_sp[:d + 1] + tuple(input_shape[len(input_shape) - nd + d + 1:])
        per = (c_in // groups) if d == 0 else 1
        total += _batch(input_shape, nd) * c_out * math.prod(sizes) * per * k[d]
    return total


def _octave_macs(input_shape, weight_shape, stride, padding, dilation, alpha):
    """The four paths of an octave convolution with a fraction ``alpha`` of the
    channels at half resolution."""
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    nd = len(weight_shape) - 2
    c_in, c_out = input_shape[-nd - 1], weight_shape[0]
    ci_l = int(alpha * c_in)
    co_l = int(alpha * c_out)
    ci_h, co_h = c_in - ci_l, c_out - co_l
    out_sp = conv_output_shape(input_shape, weight_shape, stride, padding, dilation)[-nd:]
    high = math.prod(out_sp)
    low = math.prod(max(s // 2, 1) for s in out_sp)
    return _batch(input_shape, nd) * math.prod(weight_shape[2:]) * (
        high * co_h * ci_h + high * co_h * ci_l + low * co_l * ci_l + low * co_l * ci_h)


def count_params(weight_shape, bias=False, *, op="conv"):
    """Parameters (weights, and biases when ``bias``) of one layer.

    Parameters
    ----------
    weight_shape : sequence of int
        ``(C_out, C_in // groups, *kernel)`` (``(C_in, C_out // groups,
        *kernel)`` for a transposed convolution: the count is the same).
    bias : bool, default False
        Add one bias per output channel.
    op : {'conv', 'separable'}, default 'conv'
        ``'conv'``: ``prod(weight_shape)``, i.e. ``K*K*C*N`` for ``N`` filters of
        ``K x K x C``. ``'separable'``: the depthwise-separable replacement of
        that convolution, ``K*K*C + C*N`` (the ``(K*K + N) * C`` formula).

    Returns
    -------
    int

    Raises
    ------
    ValueError
        For an unknown ``op`` or a weight shape of fewer than 3 entries.

    See Also
    --------
    count_macs : Multiply-accumulates of a layer.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.count_params((256, 3, 5, 5))
    19200
    >>> fastconv.count_params((256, 3, 5, 5), op="separable")
    843
    >>> fastconv.count_params((64, 3, 3, 3), bias=True)
    1792
    """
    shape = _shape(weight_shape, "weight_shape")
    if len(shape) < 3:
        raise ValueError(f"weight_shape must be (C_out, C_in // groups, *kernel), got {shape}")
    if op == "conv":
        params = math.prod(shape)
    elif op == "separable":
        params = math.prod(shape[2:]) * shape[1] + shape[1] * shape[0]
    else:
        raise ValueError(f"op={op!r} is not one of conv, separable")
    return params + (shape[0] if bias else 0)


def receptive_field(layers):
    """Receptive field of a stack of layers: how many input samples one output sees.

    With each layer's effective kernel ``k + (k - 1)(d - 1)`` (dilation ``d``)
    and the product ``J`` of the strides of the layers before it,
    ``r = 1 + sum (k_eff - 1) * J``. L stacked 3 x 3 layers of stride 1 see
    ``2L + 1``.

    Parameters
    ----------
    layers : sequence of dict
        Each with ``kernel_size`` and optionally ``stride`` and ``dilation``
        (default 1): ints, or tuples of one int per spatial dim.

    Returns
    -------
    int or tuple of int
        A tuple (per dim) when any value is a tuple.

    Raises
    ------
    ValueError
        For a layer without ``kernel_size``, an unknown key, values below 1 or
        tuples of different lengths.

    See Also
    --------
    count_macs : Multiply-accumulates of a layer.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.receptive_field([{"kernel_size": 3}] * 4)
    9
    >>> fastconv.receptive_field([{"kernel_size": 3, "dilation": 2}])
    5
    >>> fastconv.receptive_field([{"kernel_size": 7, "stride": 2}, {"kernel_size": 3}])
    11
    """
    layers = list(layers)
    nd = None
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict) or "kernel_size" not in layer:
            raise ValueError(f"layers[{i}] must be a dict with 'kernel_size', got {layer!r}")
        extra = set(layer) - {"kernel_size", "stride", "dilation"}
        if extra:
            raise ValueError(f"layers[{i}] has unknown keys {sorted(extra)}")
        for v in layer.values():
            if isinstance(v, (tuple, list)):
                if nd is not None and len(v) != nd:
                    raise ValueError(f"layers[{i}]: tuples of different lengths ({len(v)} "
                                     f"and {nd})")
                nd = len(v)
    dims = nd or 1
    field = [1] * dims
    jump = [1] * dims
    for i, layer in enumerate(layers):
        k = per_dim(layer["kernel_size"], dims, f"layers[{i}]['kernel_size']", 1)
        s = per_dim(layer.get("stride", 1), dims, f"layers[{i}]['stride']", 1)
        d = per_dim(layer.get("dilation", 1), dims, f"layers[{i}]['dilation']", 1)
        for j in range(dims):
            field[j] += (k[j] + (k[j] - 1) * (d[j] - 1) - 1) * jump[j]
            jump[j] *= s[j]
    return tuple(field) if nd is not None else field[0]


for _f in (count_macs, count_params, receptive_field):
    _f.__module__ = "fastconv"
