"""Transposed convolutions (conv_transpose1d/2d/3d): the adjoint of convolution.

No zeros are ever inserted into the input. The output is split by stride
phase (sub-pixel decomposition): along each spatial dim, the output
positions ``q = r + stride * m`` of phase ``r`` receive only the kernel taps
``t`` with ``(r + pad_before - t * dilation) % stride == 0``, and they receive
them as a stride-1 correlation of the input with the (flipped) sub-kernel of
those taps. Each phase is one ordinary convolution through the package's
pipeline (:func:`fastconv._args.prepare_conv` and
:func:`fastconv._dispatch.run_conv`) with the caller's ``algorithm``; its
result is written into the phase's strided output positions. With stride 1
there is a single phase: the convolution of the input with the flipped,
channel-swapped kernel.

``algorithm="im2col"`` (and ``"auto"`` on large strided layers, see
:func:`choose_transposed_algorithm`) instead runs one GEMM per image and group
on the project's packed GEMM, ``cols = W_g^T @ x[n, g]``, and adds each tap's
slab of ``cols`` into the output positions it lands on (compiled col2im in
:mod:`fastconv._kernels._grad`).
"""
import itertools
from types import SimpleNamespace

import numpy as np

from fastconv import _complex, _limits
from fastconv._args import (as_array, check_algorithm, check_out, check_winograd,
                            compute_dtype, direct_out, explicit_padding, from_channels_first,
                            is_int, per_dim, prepare_conv, stand_in, to_channels_first)
from fastconv._dispatch import as_3d, isa_level, note_choice, run_conv
from fastconv._docstrings import SPATIAL_NAMES
from fastconv._kernels import _conv, _gemm, _grad
from fastconv._threads import get_num_threads

__all__ = ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "conv_transpose_output_shape"]


def _padding_pairs(padding, nd):
    """``padding`` of a transposed convolution: an int, one int or one pair per dim."""
    if isinstance(padding, str):
        raise ValueError(f"padding={padding!r}: a transposed convolution takes an int, one int "
                         f"per spatial dim or one (before, after) pair per dim, not a string")
    return explicit_padding(padding, nd, (0,) * nd, (1,) * nd, (1,) * nd, (1,) * nd)


def _output_padding(output_padding, nd, stride, dilation):
    op = per_dim(output_padding, nd, "output_padding", 0)
    for dim, (o, s, d) in enumerate(zip(op, stride, dilation)):
        if o >= s and o >= d:
            raise ValueError(f"output_padding must be smaller than either stride or dilation "
                             f"(PyTorch's rule), got output_padding={o} with stride={s} and "
                             f"dilation={d} in spatial dim {dim}")
    return op


def _transposed_spatial(in_spatial, kernel, stride, dilation, before, after, output_padding):
    out = tuple((i - 1) * s - b - a + d * (k - 1) + o + 1 for i, k, s, d, b, a, o in
                zip(in_spatial, kernel, stride, dilation, before, after, output_padding))
    if any(v <= 0 for v in out):
        raise ValueError(f"the transposed convolution's output size {out} is not positive: "
                         f"(in - 1) * stride - pad_before - pad_after + dilation * (k - 1) "
                         f"+ output_padding + 1 with input {in_spatial}, kernel {kernel}, "
                         f"stride {stride}, padding {tuple(zip(before, after))}, dilation "
                         f"{dilation}, output_padding {output_padding}")
    return out


def conv_transpose_output_shape(input_shape, weight_shape, stride=1, padding=0,
                                output_padding=0, dilation=1, groups=1):
    """Return the shape of ``conv_transpose{N}d(x, weight, ...)`` without computing it.

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
    weight_shape : tuple of int
        ``(C_in, C_out // groups, *kernel)``; its length sets the number of
        spatial dims.
    stride, padding, output_padding, dilation, groups
        As in :func:`fastconv.conv_transpose2d`.

    Returns
    -------
    tuple of int
        ``(N, C_out, *out)`` (or ``(C_out, *out)`` unbatched) with
        ``out = (in - 1) * stride - pad_before - pad_after + dilation * (k - 1)
        + output_padding + 1`` and ``C_out = weight_shape[1] * groups``.

    Raises
    ------
    ValueError
        For shapes of inconsistent length, channels not matching ``groups``,
        bad stride/padding/output_padding/dilation, or a non-positive output.

    See Also
    --------
    fastconv.conv_output_shape : the same for a convolution.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.conv_transpose_output_shape((1, 64, 28, 28), (64, 32, 4, 4), stride=2,
    ...                                      padding=1)
    (1, 32, 56, 56)
    >>> fastconv.conv_transpose_output_shape((3, 10), (3, 2, 3), stride=2, output_padding=1,
    ...                                      groups=1)
    (2, 22)
    """
    weight_shape = tuple(int(v) for v in weight_shape)
    nd = len(weight_shape) - 2
    if nd < 1:
        raise ValueError(f"weight_shape must be (C_in, C_out // groups, *kernel), "
                         f"got {weight_shape}")
    input_shape = tuple(int(v) for v in input_shape)
    if len(input_shape) not in (nd + 1, nd + 2):
        raise ValueError(f"input_shape {input_shape} must have {nd + 2} (batched) or "
                         f"{nd + 1} (unbatched) entries for a weight of shape {weight_shape}")
    # The rules of the functions themselves, applied to the shapes alone.
    return prepare_transposed(nd, stand_in(input_shape), stand_in(weight_shape), None, stride,
                              padding, output_padding, groups, dilation, "auto", None,
                              name="input_shape", arrays=False).out_shape


def prepare_transposed(nd, x, weight, bias, stride, padding, output_padding, groups, dilation,
                       algorithm, out, name="input", arrays=True):
    """Validate a conv_transpose{nd}d call.

    Returns a namespace with the batched, C-contiguous ``x``, ``weight``,
    ``bias`` of the computation ``dtype``, the geometry (``stride``,
    ``dilation``, ``before``, ``after``, ``output_padding``, ``out_spatial``),
    ``groups``, ``c_out``, ``batched``, ``out_shape`` and ``algorithm``.
    With ``arrays=False`` only the shapes are checked (the arrays are not
    converted).
    """
    check_algorithm(algorithm)
    x_in, w_in = x, weight
    x = as_array(x, name)
    weight = as_array(weight, "weight")
    b_arr = None if bias is None else as_array(bias, "bias")
    if weight.ndim != nd + 2:
        raise ValueError(f"conv_transpose{nd}d expects a weight of {nd + 2} dims (C_in, "
                         f"C_out // groups, {'k, ' * nd}), got weight of shape {weight.shape}")
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"conv_transpose{nd}d expects an {name} of {nd + 2} dims (N, C_in, "
                         f"*spatial) or {nd + 1} dims (C_in, *spatial), got {name} of shape "
                         f"{x.shape}")
    batched = x.ndim == nd + 2
    xb = x if batched else x[None]
    if not is_int(groups) or groups <= 0:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    groups = int(groups)
    c_in = xb.shape[1]
    kernel = tuple(int(k) for k in weight.shape[2:])
    if min(kernel) == 0 or weight.shape[1] == 0:
        raise ValueError(f"weight of shape {weight.shape} is empty: every kernel size and "
                         f"C_out // groups must be >= 1")
    if c_in != weight.shape[0]:
        raise ValueError(f"{name} has {c_in} channels, but a transposed convolution's weight "
                         f"(C_in, C_out // groups, *kernel) of shape {weight.shape} expects "
                         f"C_in = {weight.shape[0]}")
    if c_in % groups:
        raise ValueError(f"groups={groups} must divide the input channels C_in={c_in}")
    if min(xb.shape[2:]) == 0:
        raise ValueError(f"{name} of shape {x.shape} has an empty spatial dim")
    c_out = weight.shape[1] * groups
    if b_arr is not None and b_arr.shape != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},) (one value per output channel), "
                         f"got {b_arr.shape}")
    stride = per_dim(stride, nd, "stride", 1)
    dilation = per_dim(dilation, nd, "dilation", 1)
    before, after = _padding_pairs(padding, nd)
    op = _output_padding(output_padding, nd, stride, dilation)
    if algorithm == "winograd":
        # one stride-1 convolution with the flipped kernel: Winograd's own rules
        check_winograd(kernel, stride)
    out_spatial = _transposed_spatial(xb.shape[2:], kernel, stride, dilation, before, after, op)
    dtype = compute_dtype(*([x, weight] + ([b_arr] if b_arr is not None else [])))
    out_shape = ((xb.shape[0],) if batched else ()) + (c_out,) + out_spatial
    if out is not None:
        check_out(out, out_shape, dtype, [(name, x_in), ("weight", w_in), ("bias", bias)])
    _limits.check_transposed(name, x.shape, xb.shape[0], c_out, xb.shape[2:], kernel, stride,
                             dilation, op, out_shape, dtype, arrays and out is None)
    if arrays:
        xb = np.ascontiguousarray(xb, dtype=dtype)
        weight = np.ascontiguousarray(weight, dtype=dtype)
        b_arr = None if b_arr is None else np.ascontiguousarray(b_arr, dtype=dtype)
    return SimpleNamespace(
        x=xb, weight=weight, bias=b_arr, dtype=dtype,
        stride=stride, dilation=dilation, before=before, after=after, output_padding=op,
        out_spatial=out_spatial, groups=groups, c_out=c_out, batched=batched,
        out_shape=out_shape, algorithm=algorithm, nd=nd)


def conv_weight_of(weight, groups):
    """The transposed weight ``(C_in, C_out/g, *k)`` as a conv weight ``(C_out, C_in/g, *k)``.

    The in/out channel axes are swapped inside each group (not yet flipped).
    """
    c_in, cog = weight.shape[:2]
    cig = c_in // groups
    w = weight.reshape((groups, cig, cog) + weight.shape[2:]).swapaxes(1, 2)
    return w.reshape((groups * cog, cig) + weight.shape[2:])


def phase_plan(r, size_out, size_in, k, s, d, before):
    """One dim of one stride phase.

    Returns None when the phase has no output positions, ``"zero"`` when no
    tap or no input element reaches it, else ``(taps, dilation, lo, hi,
    pad_before, pad_after)``: the taps (in correlation order, i.e. flipped),
    the sub-kernel's dilation, the input range ``[lo, hi)`` it reads and the
    zero padding around that range.
    """
    count = len(range(r, size_out, s))
    if count == 0:
        return None
    taps = [t for t in range(k) if (r + before - t * d) % s == 0]
    if not taps:
        return "zero"
    step = (taps[1] - taps[0]) * d // s if len(taps) > 1 else 1
    first = (r + before - taps[-1] * d) // s     # input index of output m = 0, last tap
    end = first + count - 1 + step * (len(taps) - 1) + 1
    if first >= size_in or end <= 0:
        return "zero"
    lo, hi = max(first, 0), min(end, size_in)
    return taps[::-1], step, lo, hi, lo - first, end - hi


#: Elements of the GEMM's column matrix computed at once by the im2col path.
COL2IM_BLOCK_ELEMENTS = 1 << 22


def gemm_col2im_core(nd, x, weight, bias, stride, dilation, before, out_spatial, groups,
                     result):
    """The transposed convolution as a GEMM then a scatter-add (col2im).

    Per image and group, ``cols (Cog * prod(k) x P_in) = W_g^T (Cog * prod(k) x Cig) @
    x[n, g] (Cig x P_in)`` on the project's packed GEMM (parallel, the same bits for
    any thread count), computed for blocks of input rows; then each tap's slab of
    ``cols`` is added into the strided output positions it lands on, in a fixed order.
    """
    n_img, c_in = x.shape[:2]
    cig = c_in // groups
    cog = weight.shape[1]
    kernel = weight.shape[2:]
    kk = int(np.prod(kernel))
    in_spatial = x.shape[2:]
    inner = int(np.prod(in_spatial[1:]))
    rows_per_block = max(1, COL2IM_BLOCK_ELEMENTS // max(1, cog * kk * inner))
    if bias is None:
        result[...] = 0
    else:
        result[...] = bias.reshape((-1,) + (1,) * nd)
    lead = 3 - nd                              # the kernels see 3-D problems
    k3, s3, d3, b3 = (as_3d(kernel, 1), as_3d(stride, 1), as_3d(dilation, 1),
                      as_3d(before, 0))
    threads = get_num_threads()
    # A block that is the whole image: every group's GEMM is one call of the
    # 1 x 1 convolution kernel, which reads x[n] in place as its B, with the
    # GEMM's A (Cog * kk x Cig per group, W_g's transpose) packed straight from
    # the weights (a transposed copy of them cost 14 ms of a 75 ms layer:
    # 1024 -> 512 channels, 2 x 2 taps).
    whole = rows_per_block >= in_spatial[0] and x.flags.c_contiguous
    w_groups = weight.reshape(groups, cig, cog * kk)
    if whole:
        p_in = int(np.prod(in_spatial))
        isa = isa_level()
        packed = _conv.pack_a_transposed(w_groups, isa)
        # (the shape of A for the kernel's geometry; its values come from packed)
        a_shape = weight.reshape(groups * cog * kk, cig, 1, 1, 1)
        cols_all = np.empty((1, groups * cog * kk, 1, 1, p_in), x.dtype)
    else:
        # (Cog * kk, Cig) per group: the GEMM's A, made contiguous once.
        a_all = np.ascontiguousarray(w_groups.transpose(0, 2, 1))
    # The blocks run last to first: an output element receives the taps that
    # reach it from later input rows (smaller taps along the blocked axis)
    # first, and each block adds its taps in (kd, kh, kw) order, so every
    # element sums bias, then its taps in (kd, kh, kw) order, whatever the
    # blocking, and a region of the output gets the same bits from the slice
    # of the input that reaches it as from the whole.
    for r0 in reversed(range(0, in_spatial[0], rows_per_block)):
        r1 = min(in_spatial[0], r0 + rows_per_block)
        block_in = as_3d((r1 - r0,) + in_spatial[1:], 1)
        start = tuple(r0 if dim == lead else 0 for dim in range(3))
        for n in range(n_img):
            if whole:
                _conv.im2col(x[n:n + 1].reshape(1, c_in, 1, 1, p_in), a_shape, None, cols_all,
                             (1, 1, 1), (0, 0, 0), (1, 1, 1), groups, threads, isa, packed)
            for g in range(groups):
                if whole:
                    cols = cols_all[0, g * cog * kk:(g + 1) * cog * kk].reshape(cog * kk, -1)
                else:
                    b = x[n, g * cig:(g + 1) * cig, r0:r1].reshape(cig, -1)
                    cols = _gemm.matmul(a_all[g], b)
                dst = result[n, g * cog:(g + 1) * cog].reshape((cog,) + as_3d(out_spatial, 1))
                _grad.col2im_add(cols, dst, block_in, start, k3, s3, b3, d3, threads)
    return result


def choose_transposed_algorithm(weight, stride, groups, algorithm):
    """``"im2col"`` (GEMM + col2im) or the sub-pixel decomposition for ``algorithm``.

    ``"im2col"`` runs the GEMM + col2im path; ``"direct"`` and any other
    algorithm run the sub-pixel decomposition with that algorithm for the
    phase convolutions. ``"auto"`` takes the GEMM path when the GEMM is large
    enough to fill its register tile (``C_out / groups * prod(kernel) >= 64``
    and ``C_in / groups >= 16``) and the stride is above 1 (with stride 1 the
    decomposition is a single ordinary convolution, which needs no scatter);
    measured on the bench-suite layer convT4x4s2_64_32_28 (1 thread): GEMM +
    col2im 0.92 ms, the decomposition 1.6-1.9 ms with its phase convolutions on
    "auto" and 4.5 ms on "direct".
    """
    if algorithm == "im2col":
        return "im2col"
    if algorithm != "auto":
        return "subpixel"
    cig = weight.shape[0] // groups
    rows = weight.shape[1] * int(np.prod(weight.shape[2:]))
    if rows >= 64 and cig >= 16 and any(s > 1 for s in stride):
        return "im2col"
    return "subpixel"


def transpose_core(nd, x, weight, bias, stride, dilation, before, out_spatial, groups,
                   algorithm, result):
    """Write the transposed convolution into ``result`` (C-contiguous, batched).

    ``result[n, o, q]`` for ``q`` in ``[0, out_spatial)`` receives the input
    elements ``i`` and taps ``t`` with ``q = i * stride - before + t * dilation``.
    ``x`` ``(N, C_in, *in)`` and ``weight`` ``(C_in, C_out // groups, *k)`` are
    C-contiguous arrays of ``result``'s dtype.
    """
    if choose_transposed_algorithm(weight, stride, groups, algorithm) == "im2col":
        note_choice("im2col")
        return gemm_col2im_core(nd, x, weight, bias, stride, dilation, before, out_spatial,
                                groups, result)
    kernel = weight.shape[2:]
    in_spatial = x.shape[2:]
    wc = conv_weight_of(weight, groups)
    for phase in itertools.product(*(range(s) for s in stride)):
        plans = [phase_plan(r, o, i, k, s, d, b) for r, o, i, k, s, d, b in
                 zip(phase, out_spatial, in_spatial, kernel, stride, dilation, before)]
        if any(p is None for p in plans):
            continue
        dst = (slice(None), slice(None)) + tuple(slice(r, None, s)
                                                 for r, s in zip(phase, stride))
        if any(p == "zero" for p in plans):
            result[dst] = 0 if bias is None else bias.reshape((-1,) + (1,) * nd)
            continue
        w_sub = wc
        for dim, p in enumerate(plans):
            w_sub = np.take(w_sub, p[0], axis=2 + dim)
        x_sub = x[(slice(None), slice(None)) + tuple(slice(p[2], p[3]) for p in plans)]
        problem, xs, ws, bs, _ = prepare_conv(
            nd, x_sub, w_sub, bias, 1, tuple((p[4], p[5]) for p in plans),
            tuple(p[1] for p in plans), groups, "zeros", algorithm, None)
        # (few_pixels=False: a phase's size follows the chunk a block holds.)
        if all(s == 1 for s in stride):
            run_conv(problem, xs, ws, bs, result, few_pixels=False)
        else:
            result[dst] = run_conv(problem, xs, ws, bs, None, few_pixels=False)
    return result


def _conv_transpose(nd, x, weight, bias, stride, padding, output_padding, groups, dilation,
                    algorithm, out, layout):
    if _complex.is_complex(x, weight, bias):
        def real(xr, wr, fill):
            return _conv_transpose(nd, xr, wr, None, stride, padding, output_padding, groups,
                                   dilation, algorithm, None, layout)
        return _complex.compose_conv(real, nd, layout, x, weight, bias, out)
    x = to_channels_first(x, layout, nd)
    out_cf = to_channels_first(out, layout, nd, "out")
    t = prepare_transposed(nd, x, weight, bias, stride, padding, output_padding, groups,
                           dilation, algorithm, out_cf)
    result = out_cf
    if result is None or not direct_out(result):
        result = np.empty(t.out_shape, dtype=t.dtype)
    batched_result = result if t.batched else result[None]
    if result.size:
        transpose_core(nd, t.x, t.weight, t.bias, t.stride, t.dilation, t.before,
                       t.out_spatial, t.groups, algorithm, batched_result)
    if out_cf is not None and result is not out_cf:
        out_cf[...] = result
    return out if out is not None else from_channels_first(result, layout, nd)


_DOC = """{nd}-D transposed convolution (the adjoint, or gradient, of conv{nd}d).

    Every input element, times the kernel, is scattered into the output::

        y[n, g*Cog + o, i*stride - padding + t*dilation] += (
            x[n, g*Cig + c, i] * weight[g*Cig + c, o, t])

    with the semantics and argument order of
    ``torch.nn.functional.conv_transpose{nd}d`` (``groups`` before
    ``dilation``). It is computed without inserting zeros into the input: the
    output is split by stride phase and each phase is an ordinary stride-1
    convolution with the sub-kernel of the taps that reach it.

    Complex ``x``, ``weight`` and ``bias`` are accepted with PyTorch's
    semantics (no conjugation), composed from real transposed convolutions
    of the real and imaginary parts, for every algorithm.

    Parameters
    ----------
    x : array_like
        Input of shape ``(N, C_in, {spatial})``, or unbatched ``(C_in, {spatial})``.
    weight : array_like
        Filters of shape ``(C_in, C_out // groups, {kernel})``.
    bias : array_like, optional
        Shape ``(C_out,)``.
    stride : int or tuple of {nd} ints, default 1
        Step between the positions the input elements land on, each >= 1.
    padding : int, tuple of {nd} ints or of {nd} (before, after) pairs, default 0
        Removed from each end of the full output (strings are not accepted).
    output_padding : int or tuple of {nd} ints, default 0
        Extra elements added at the end of each spatial dim; each must be
        smaller than the stride or the dilation of its dim.
    groups : int, default 1
        Channel groups; ``C_in`` must be divisible by it.
    dilation : int or tuple of {nd} ints, default 1
        Spacing between kernel taps.
    algorithm : {{'auto', 'direct', 'im2col', 'winograd'}}, default 'auto'
        'im2col': one GEMM per image and group, then a scatter-add (col2im);
        'direct': the sub-pixel decomposition with direct phase convolutions;
        'winograd': stride 1 and 3-tap kernels only (a single Winograd
        convolution with the flipped kernel); 'auto' chooses (see the
        transposed convolution page of the docs).
    out : ndarray, optional
        Array of exactly the result's shape and dtype to write into.
    layout : {{'channels_first', 'channels_last'}}, default 'channels_first'
        Where the channel axis of ``x`` and of the result is; the weight keeps
        its format.

    Returns
    -------
    ndarray
        Shape ``(N, C_out, {out_spatial})`` (unbatched if ``x`` was), each size
        ``(in - 1) * stride - pad_before - pad_after + dilation * (k - 1) +
        output_padding + 1``; float32 stays float32, float64 stays float64,
        integer and bool inputs give float64; complex arguments give the
        complex dtype of that rule applied to the real parts (complex64 with
        float64 gives complex128).

    Raises
    ------
    ValueError
        For inconsistent shapes, bad stride/padding/output_padding/dilation/
        groups, a non-positive output size, an unknown algorithm or layout,
        ``algorithm='winograd'`` with a stride above 1 or a kernel other than
        3 or 1 taps per axis, or a bad ``out``.
    TypeError
        For object, string and other non-numeric dtypes, and extended
        precision.

    See Also
    --------
    fastconv.conv_transpose_output_shape : the output shape without computing.
    fastconv.conv{nd}d : the convolution this is the adjoint of.
    fastconv.grad.conv{nd}d_input : the gradient of conv{nd}d, a transposed convolution.
    fastconv.reference.conv_transpose{nd}d : the slow float64 definition.

    Examples
    --------
{example}
"""

_EXAMPLES = {
    1: """    >>> import numpy as np, fastconv
    >>> x = np.array([[[1.0, 2.0, 3.0]]])
    >>> w = np.array([[[1.0, 1.0, 1.0]]])
    >>> fastconv.conv_transpose1d(x, w, stride=2)
    array([[[1., 1., 3., 2., 5., 3., 3.]]])
    >>> fastconv.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1).shape
    (1, 1, 6)""",
    2: """    >>> import numpy as np, fastconv
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((1, 64, 28, 28)).astype(np.float32)
    >>> w = rng.standard_normal((64, 32, 4, 4)).astype(np.float32)
    >>> y = fastconv.conv_transpose2d(x, w, stride=2, padding=1)   # 2x upsampling
    >>> y.shape, y.dtype
    ((1, 32, 56, 56), dtype('float32'))
    >>> ref = fastconv.reference.conv_transpose2d(x, w, stride=2, padding=1)
    >>> bool(np.allclose(y, ref, rtol=1e-4, atol=1e-3))
    True
    >>> image = rng.standard_normal((28, 28, 64))   # (H, W, C), unbatched
    >>> fastconv.conv_transpose2d(image, w, stride=2, padding=1, layout="channels_last").shape
    (56, 56, 32)""",
    3: """    >>> import numpy as np, fastconv
    >>> x = np.ones((1, 2, 2, 2, 2))
    >>> w = np.ones((2, 1, 2, 2, 2))           # groups=2: each output sees 1 channel
    >>> y = fastconv.conv_transpose3d(x, w, stride=2, groups=2)
    >>> y.shape, float(y.sum())
    ((1, 2, 4, 4, 4), 128.0)""",
}


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, algorithm="auto", out=None, layout="channels_first"):
    return _conv_transpose(1, x, weight, bias, stride, padding, output_padding, groups,
                           dilation, algorithm, out, layout)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, algorithm="auto", out=None, layout="channels_first"):
    return _conv_transpose(2, x, weight, bias, stride, padding, output_padding, groups,
                           dilation, algorithm, out, layout)


def conv_transpose3d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, algorithm="auto", out=None, layout="channels_first"):
    return _conv_transpose(3, x, weight, bias, stride, padding, output_padding, groups,
                           dilation, algorithm, out, layout)


for _nd, _f in ((1, conv_transpose1d), (2, conv_transpose2d), (3, conv_transpose3d)):
    _f.__module__ = "fastconv"
    _f.__doc__ = _DOC.format(nd=_nd, example=_EXAMPLES[_nd], **SPATIAL_NAMES[_nd])
del _nd, _f
conv_transpose_output_shape.__module__ = "fastconv"
