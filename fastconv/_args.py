"""Normalise and validate the arguments of the public functions.

Everything the public layer accepts is turned here into a small frozen
description of the work (:class:`ConvProblem`) and arrays the kernels can use
as they are: C-contiguous, of the computation dtype, batched. Every message
names the argument and the offending values. Nothing here computes a
convolution.
"""
import math
import numbers
from dataclasses import dataclass, fields
from typing import Callable, NamedTuple, Optional

import numpy as np

from fastconv import _limits

#: Every value of ``algorithm=`` that fastconv accepts today.
ALGORITHMS = ("auto", "direct", "im2col", "winograd")


class PaddingMode(NamedTuple):
    """What a ``padding_mode`` puts in the padded cells, and its limit."""

    #: The :func:`numpy.pad` mode that fills the border the same way.
    numpy_mode: str
    #: PyTorch's limit on the padding, ``allowed(pad, size)``; None: any padding.
    allowed: Optional[Callable[[int, int], bool]]
    #: The limit in words, for the error message.
    rule: str


#: Every ``padding_mode``: the one table of what each one means.
PADDING_MODES = {
    "zeros": PaddingMode("constant", None, ""),
    "reflect": PaddingMode("reflect", lambda pad, size: pad < size, "smaller than"),
    "replicate": PaddingMode("edge", lambda pad, size: size > 0, "used with a non-empty"),
    "circular": PaddingMode("wrap", lambda pad, size: pad <= size, "at most"),
}
#: Where the channel axis is: before the spatial dims (PyTorch) or last
#: (TensorFlow/Keras, images ``(H, W, C)``). Weights keep one format.
LAYOUTS = ("channels_first", "channels_last")


@dataclass(frozen=True)
class ConvGeometry:
    """The validated shapes and geometry of a convolution (no arrays, no dtype).

    Spatial tuples have one entry per spatial dimension (``nd`` of them).
    ``pad_before``/``pad_after`` are the explicit amounts, whatever form the
    caller used. ``n`` is 1 for an unbatched input (``batched`` False).
    """

    nd: int
    batched: bool
    n: int
    c_in: int
    c_out: int
    groups: int
    in_spatial: tuple
    kernel: tuple
    stride: tuple
    dilation: tuple
    pad_before: tuple
    pad_after: tuple
    out_spatial: tuple

    @property
    def out_shape(self):
        """The shape of the result, unbatched when the input was."""
        shape = (self.c_out,) + self.out_spatial
        return ((self.n,) + shape) if self.batched else shape

    @property
    def macs(self):
        """Multiply-accumulates of the direct definition."""
        return (self.n * self.c_out * math.prod(self.out_spatial)
                * (self.c_in // self.groups) * math.prod(self.kernel))


@dataclass(frozen=True)
class ConvProblem(ConvGeometry):
    """A validated convolution: its geometry, what the padded cells hold
    (``padding_mode``), the computation dtype and the requested algorithm."""

    padding_mode: str
    dtype: np.dtype
    algorithm: str


_GEOMETRY_FIELDS = tuple(f.name for f in fields(ConvGeometry))
_PROBLEM_FIELDS = tuple(f.name for f in fields(ConvProblem))


def _frozen(cls, names, values):
    """``cls(*values)`` for a frozen dataclass of fields ``names``, without the
    generated ``__init__``'s ``object.__setattr__`` per field: half the cost,
    and every call builds one of these."""
    self = object.__new__(cls)
    self.__dict__.update(zip(names, values))
    return self


def is_int(v):
    """True for Python and NumPy integers (not bools)."""
    if type(v) is int:      # the common case, without the ABC machinery
        return True
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def per_dim(value, nd, name, minimum):
    """An int or a sequence of ``nd`` ints, each >= ``minimum`` -> tuple."""
    if is_int(value):
        values = (int(value),) * nd
    elif isinstance(value, (tuple, list)):
        if len(value) != nd:
            raise ValueError(
                f"{name} must be an int or a sequence of {nd} ints (one per spatial "
                f"dim), got {value!r} of length {len(value)}")
        if not all(is_int(v) for v in value):
            raise ValueError(f"{name} must contain ints, got {value!r}")
        values = tuple(int(v) for v in value)
    else:
        raise ValueError(f"{name} must be an int or a sequence of {nd} ints, got {value!r}")
    for v in values:
        if v < minimum:
            raise ValueError(f"{name} must be >= {minimum} in every dim, got {value!r}")
    return values


def explicit_padding(padding, nd, in_spatial, kernel, stride, dilation):
    """Return ``(before, after)`` tuples for every accepted form of ``padding``.

    ``"same"`` follows TensorFlow's rule for every stride: the output has
    ``ceil(in / stride)`` elements, the total padding is
    ``max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0)`` and its odd
    extra goes after.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * nd, (0,) * nd
        if padding == "same":
            before, after = [], []
            for size, k, s, d in zip(in_spatial, kernel, stride, dilation):
                out = -(-size // s)
                total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
                before.append(total // 2)
                after.append(total - total // 2)
            return tuple(before), tuple(after)
        raise ValueError(f"padding={padding!r} is not understood: use an int, one int or "
                         f"one (before, after) pair per dim, 'valid' or 'same'")
    if is_int(padding):
        if padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        return (int(padding),) * nd, (int(padding),) * nd
    if not isinstance(padding, (tuple, list)) or len(padding) != nd:
        length = len(padding) if isinstance(padding, (tuple, list)) else "no"
        raise ValueError(
            f"padding must be an int, 'valid', 'same', or a sequence of {nd} entries "
            f"(an int or a (before, after) pair per spatial dim), got {padding!r} "
            f"(length {length}); for asymmetric padding nest the pairs, e.g. "
            f"{tuple((1, 2) for _ in range(nd))!r}")
    before, after = [], []
    for entry in padding:
        if is_int(entry):
            b = a = int(entry)
        elif (isinstance(entry, (tuple, list)) and len(entry) == 2
              and all(is_int(v) for v in entry)):
            b, a = int(entry[0]), int(entry[1])
        else:
            raise ValueError(f"padding entries must be ints or (before, after) pairs of "
                             f"ints, got {entry!r} in padding={padding!r}")
        if b < 0 or a < 0:
            raise ValueError(f"padding must be >= 0, got {padding!r}")
        before.append(b)
        after.append(a)
    return tuple(before), tuple(after)


def output_spatial(in_spatial, kernel, stride, dilation, pad_before, pad_after):
    """Output sizes; ValueError when a dilated kernel is larger than the padded input."""
    out = []
    for dim, (size, k, s, d, b, a) in enumerate(
            zip(in_spatial, kernel, stride, dilation, pad_before, pad_after)):
        span = d * (k - 1) + 1
        padded = size + b + a
        if span > padded:
            raise ValueError(
                f"kernel size (dilated) {span} (kernel {k}, dilation {d}) is larger than "
                f"the padded input {padded} (input {size} + padding {b} + {a}) in spatial "
                f"dim {dim}")
        out.append((padded - span) // s + 1)
    return tuple(out)


def conv_output_shape(input_shape, weight_shape, stride=1, padding=0, dilation=1):
    """Return the shape of ``conv{N}d(x, weight, ...)`` without computing it.

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
    weight_shape : tuple of int
        ``(C_out, C_in // groups, *kernel)``; its length sets the number of
        spatial dims.
    stride, padding, dilation
        As in :func:`fastconv.conv2d`.

    Returns
    -------
    tuple of int
        ``(N, C_out, *out_spatial)``, or ``(C_out, *out_spatial)`` for an
        unbatched ``input_shape``. Each output size is
        ``floor((in + pad_before + pad_after - dilation * (k - 1) - 1) / stride) + 1``.

    Raises
    ------
    ValueError
        For shapes of inconsistent length, bad stride/padding/dilation, or a
        dilated kernel larger than the padded input.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.conv_output_shape((8, 3, 224, 224), (64, 3, 7, 7), stride=2, padding=3)
    (8, 64, 112, 112)
    >>> fastconv.conv_output_shape((3, 10), (4, 3, 3), stride=2, padding="same")
    (4, 5)
    """
    input_shape = tuple(int(v) for v in input_shape)
    weight_shape = tuple(int(v) for v in weight_shape)
    nd = len(weight_shape) - 2
    if nd < 1:
        raise ValueError(f"weight_shape must be (C_out, C_in // groups, *kernel), "
                         f"got {weight_shape}")
    if len(input_shape) not in (nd + 1, nd + 2):
        raise ValueError(f"input_shape {input_shape} must have {nd + 2} (batched) or "
                         f"{nd + 1} (unbatched) entries for a weight of shape {weight_shape}")
    if min(input_shape + weight_shape, default=0) < 0:
        raise ValueError(f"shapes must be non-negative, got input_shape={input_shape}, "
                         f"weight_shape={weight_shape}")
    kernel = weight_shape[2:]
    in_spatial = input_shape[-nd:]
    stride = per_dim(stride, nd, "stride", 1)
    dilation = per_dim(dilation, nd, "dilation", 1)
    before, after = explicit_padding(padding, nd, in_spatial, kernel, stride, dilation)
    out = output_spatial(in_spatial, kernel, stride, dilation, before, after)
    lead = input_shape[:1] if len(input_shape) == nd + 2 else ()
    return lead + (weight_shape[0],) + out


_REJECTED_KINDS = {"c": "complex", "O": "object", "U": "string", "S": "bytes",
                   "V": "structured/void", "M": "datetime", "m": "timedelta"}


def as_array(value, name):
    """``np.asarray(value)``; TypeError (naming ``name``) for a dtype fastconv
    cannot compute in: complex, object, strings, structured, datetimes, or
    floats wider than 64 bits."""
    arr = np.asarray(value)
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} has dtype {arr.dtype} (complex), which this function does not "
                        f"take: it computes in float32 or float64 (the convolutions, "
                        f"correlations and their gradients take complex64 and complex128)")
    if kind in _REJECTED_KINDS:
        raise TypeError(f"{name} has dtype {arr.dtype} ({_REJECTED_KINDS[kind]}); fastconv "
                        f"computes in float32 or float64 and accepts float, integer and "
                        f"bool arrays")
    if kind == "f" and arr.dtype.itemsize > 8:
        raise TypeError(f"{name} has dtype {arr.dtype}: extended precision is not supported "
                        f"(fastconv computes in float32 or float64)")
    if not arr.flags.aligned:       # the kernels read whole, aligned elements
        arr = arr.copy()
    return arr


def compute_dtype(*arrays):
    """``np.result_type`` of the inputs, integers and bools promoted to float64.

    float16 is computed (and returned) as float32.
    """
    dtype = np.result_type(*arrays)
    if dtype.kind != "f":
        return np.dtype(np.float64)
    if dtype.itemsize < 4:
        return np.dtype(np.float32)
    return dtype


def check_algorithm(algorithm, available=ALGORITHMS):
    """``algorithm``, or a ValueError when it is not one of ``available``."""
    if algorithm not in available:
        raise ValueError(f"algorithm={algorithm!r} is not one of {', '.join(available)}")
    return algorithm


def winograd_reason(kernel, stride):
    """Why Winograd F(2, 3) cannot compute a convolution, or None if it can.

    It needs stride 1 and, along every spatial axis, 3 taps (transformed) or
    1 tap (not transformed), with at least one axis of 3. Dilation is allowed
    (the input is split into sub-grids).
    """
    kernel, stride = tuple(kernel), tuple(stride)
    if any(k not in (1, 3) for k in kernel):
        return f"it needs 3 (or 1) taps along every axis, got a kernel of size {kernel}"
    if 3 not in kernel:
        return f"it needs an axis of 3 taps, got a kernel of size {kernel}"
    if any(s != 1 for s in stride):
        return f"it needs stride 1, got stride {stride}"
    return None


def check_winograd(kernel, stride, algorithms=("auto", "direct", "im2col")):
    """Raise the ValueError of ``algorithm='winograd'`` on an inapplicable problem."""
    reason = winograd_reason(kernel, stride)
    if reason is not None:
        raise ValueError(f"algorithm='winograd' cannot compute this convolution (Winograd "
                         f"F(2, 3)): {reason}; use one of {', '.join(map(repr, algorithms))}")


def check_out(out, shape, dtype, inputs):
    """Validate a caller-provided ``out`` array (shape, dtype, writeable, no overlap)."""
    if not isinstance(out, np.ndarray):
        raise ValueError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"out has shape {out.shape}, but the result has shape {tuple(shape)}")
    if out.dtype.newbyteorder("=") != dtype:     # either byte order
        raise ValueError(f"out has dtype {out.dtype}, but the result has dtype {dtype}")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    for name, arr in inputs:
        if arr is not None and np.shares_memory(out, arr):
            raise ValueError(f"out overlaps the input {name}: the result would overwrite "
                             f"the data it is computed from")


def direct_out(out):
    """Whether the kernels can write into ``out`` as it is (C-contiguous,
    aligned, native byte order); otherwise the result goes through a new
    array and is copied into ``out``."""
    return out.flags.c_contiguous and out.flags.aligned and out.dtype.isnative


def conv_geometry(nd, x_shape, w_shape, stride, padding, dilation, groups, padding_mode,
                  x_name="input", w_name="weight"):
    """Validate the shapes and geometry of a conv{nd}d from shapes alone.

    The one place where input/weight/groups consistency, stride, dilation,
    padding (every form) and the padding modes' limits are checked; the
    forward functions and the gradients share it. ``padding_mode`` must be
    one of :data:`PADDING_MODES` (see :func:`check_padding_mode`).

    Returns
    -------
    ConvGeometry
    """
    return _frozen(ConvGeometry, _GEOMETRY_FIELDS,
                   _geometry(nd, x_shape, w_shape, stride, padding, dilation, groups,
                             padding_mode, x_name, w_name))


def _geometry(nd, x_shape, w_shape, stride, padding, dilation, groups, padding_mode, x_name,
              w_name):
    # The fields of a ConvGeometry, in order (a tuple: prepare_conv extends
    # it into a ConvProblem without building the geometry first).
    x_shape, w_shape = tuple(map(int, x_shape)), tuple(map(int, w_shape))
    if len(w_shape) != nd + 2:
        raise ValueError(f"conv{nd}d expects a {w_name} of {nd + 2} dims (C_out, "
                         f"C_in // groups, {'k, ' * nd}), got {w_name} of shape {w_shape}")
    if len(x_shape) not in (nd + 1, nd + 2):
        raise ValueError(f"conv{nd}d expects an {x_name} of {nd + 2} dims (N, C_in, *spatial) "
                         f"or {nd + 1} dims (C_in, *spatial), got {x_name} of shape {x_shape}")
    if not is_int(groups) or groups <= 0:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    groups = int(groups)
    batched = len(x_shape) == nd + 2
    n = x_shape[0] if batched else 1
    c_in = x_shape[-nd - 1]
    c_out, cig = w_shape[:2]
    kernel = w_shape[2:]
    in_spatial = x_shape[-nd:]
    if min(kernel) == 0 or cig == 0:
        raise ValueError(f"{w_name} of shape {w_shape} is empty: every kernel size and "
                         f"C_in // groups must be >= 1")
    if c_in != cig * groups:
        raise ValueError(f"{x_name} has {c_in} channels, but {w_name} of shape {w_shape} with "
                         f"groups={groups} expects C_in = {cig} * {groups} = {cig * groups}")
    if c_out % groups:
        raise ValueError(f"groups={groups} must divide the output channels C_out={c_out} "
                         f"({w_name} of shape {w_shape})")
    stride = per_dim(stride, nd, "stride", 1)
    dilation = per_dim(dilation, nd, "dilation", 1)
    before, after = explicit_padding(padding, nd, in_spatial, kernel, stride, dilation)
    mode = PADDING_MODES[padding_mode]
    if mode.allowed is not None:
        for dim, (size, b, a) in enumerate(zip(in_spatial, before, after)):
            if max(b, a) > 0 and not mode.allowed(max(b, a), size):
                raise ValueError(f"padding_mode={padding_mode!r} needs padding {mode.rule} the "
                                 f"input size in each dim: padding ({b}, {a}) vs input size "
                                 f"{size} in spatial dim {dim}")
    out_spatial = output_spatial(in_spatial, kernel, stride, dilation, before, after)
    _limits.check_geometry(n, c_in, in_spatial, before, after, kernel, dilation, x_name, x_shape,
                           padding)
    return (nd, batched, n, c_in, c_out, groups, in_spatial, kernel, stride, dilation, before,
            after, out_spatial)


def stand_in(shape, dtype=np.float32):
    """A read-only, zero-strided array of ``shape``: lets a shape be validated
    by the code that validates arrays, without an array of that size."""
    shape = tuple(int(v) for v in shape)
    if any(v < 0 for v in shape):
        raise ValueError(f"shapes must be non-negative, got {shape}")
    return np.broadcast_to(np.zeros((), dtype), shape)


def check_layout(layout):
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r} is not one of {', '.join(LAYOUTS)}")
    return layout


def to_channels_first(x, layout, nd, name="input"):
    """A channels-first view of ``x`` given in ``layout`` (no copy).

    ``x`` is ``(N, *spatial, C)`` or unbatched ``(*spatial, C)`` for
    ``"channels_last"``; the channel axis moves to just before the ``nd``
    spatial dims. ``None`` passes through (an absent ``out``).
    """
    check_layout(layout)
    if layout == "channels_first" or x is None:
        return x
    if name == "out" and not isinstance(x, np.ndarray):
        raise ValueError(f"out must be a numpy.ndarray, got {type(x).__name__}")
    arr = x if name == "out" else as_array(x, name)
    if arr.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"with layout='channels_last' the {name} must have {nd + 2} dims "
                         f"(N, *spatial, C) or {nd + 1} dims (*spatial, C) for {nd} spatial "
                         f"dims, got {name} of shape {arr.shape}")
    return np.moveaxis(arr, -1, -(nd + 1))


def from_channels_first(y, layout, nd):
    """``y`` (channels-first) seen in ``layout``: the inverse of :func:`to_channels_first`."""
    if layout == "channels_first" or y is None:
        return y
    return np.moveaxis(y, -(nd + 1), -1)


def check_padding_mode(padding_mode):
    """``padding_mode``, or a ValueError when it is not one of :data:`PADDING_MODES`."""
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode={padding_mode!r} is not one of "
                         f"{', '.join(PADDING_MODES)}")
    return padding_mode


#: Validated problems of recent calls, by :func:`_problem_key`: a repeated
#: call with the same shapes, dtypes and parameters skips the geometry
#: (bounded; cleared when full).
PROBLEM_CACHE_SIZE = 256
_problems = {}


def _plain(value):
    """``value`` if it is an int, a str, or a tuple of ints or of int tuples
    (the forms that can key the cache without ambiguity: not a bool, which
    compares equal to an int but is rejected, nor a list), else None."""
    t = type(value)
    if t is int or t is str:
        return value
    if t is tuple:
        for v in value:
            if type(v) is not int and not (type(v) is tuple
                                           and all(type(u) is int for u in v)):
                return None
        return value
    return None


def _problem_key(nd, x, weight, bias, stride, padding, dilation, groups, padding_mode,
                 algorithm, allocate_out):
    """The cache key of a conv call's problem, or None when a parameter has a
    form that is validated every time (see :func:`_plain`). ``padding_mode``
    and ``algorithm`` need no check of their form: a cached problem was
    validated with values equal to them, which is all their checks compare."""
    # The common forms first: plain ints (and a padding string).
    if not (type(stride) is int and type(dilation) is int and type(groups) is int
            and (type(padding) is int or type(padding) is str)):
        for v in (stride, padding, dilation, groups):
            if _plain(v) is None:
                return None
    if type(padding_mode) is not str or type(algorithm) is not str:
        return None
    if bias is None:
        return (nd, x.shape, x.dtype, weight.shape, weight.dtype, None, None, stride, padding,
                dilation, groups, padding_mode, algorithm, allocate_out)
    return (nd, x.shape, x.dtype, weight.shape, weight.dtype, bias.shape, bias.dtype, stride,
            padding, dilation, groups, padding_mode, algorithm, allocate_out)


def _conv_problem(nd, x, weight, b_arr, stride, padding, dilation, groups, padding_mode,
                  algorithm, allocate_out):
    """Validate what a conv call's problem depends on (shapes, dtypes and
    parameters, never values) into a :class:`ConvProblem`, with the sizes
    of what the call allocates (:func:`fastconv._limits.check_conv`)."""
    check_algorithm(algorithm)
    check_padding_mode(padding_mode)
    geometry = _geometry(nd, x.shape, weight.shape, stride, padding, dilation, groups,
                         padding_mode, "input", "weight")
    dtype = compute_dtype(x, weight) if b_arr is None else compute_dtype(x, weight, b_arr)
    problem = _frozen(ConvProblem, _PROBLEM_FIELDS, geometry + (padding_mode, dtype, algorithm))
    if b_arr is not None and b_arr.shape != (problem.c_out,):
        raise ValueError(f"bias must have shape ({problem.c_out},) (one value per output "
                         f"channel), got {b_arr.shape}")
    if algorithm == "winograd":
        check_winograd(problem.kernel, problem.stride)
    _limits.check_conv(problem, x.shape, padding, allocate_out)
    return problem


def input_array(value, name):
    """:func:`as_array` for the hot path: an aligned ndarray as it is (its
    dtype is checked with the problem it keys, on a cache miss)."""
    if type(value) is np.ndarray and value.flags.aligned:
        return value
    return as_array(value, name)


def prepare_conv(nd, x, weight, bias, stride, padding, dilation, groups, padding_mode,
                 algorithm, out, *, convert_input=True):
    """Validate a conv{nd}d call.

    Returns
    -------
    problem : ConvProblem
    x, weight, bias : ndarray
        C-contiguous arrays of ``problem.dtype``; ``x`` batched and, for a
        non-zero ``padding_mode``, already padded (the problem's padding is then
        zero for the kernels, see :func:`kernel_padding`).
    out : ndarray or None
        The caller's ``out`` (validated) or None.

    With ``convert_input=False`` the input is validated but returned as given
    (a plan validates a stand-in of the input's shape).

    A repeated call with the same shapes, dtypes and parameters takes its
    problem from a cache (everything a problem holds depends on those alone,
    and only a problem whose checks passed is kept); its arrays are converted
    every time.
    """
    x_in, w_in = x, weight
    x = input_array(x, "input")
    weight = input_array(weight, "weight")
    b_arr = None if bias is None else input_array(bias, "bias")
    key = _problem_key(nd, x, weight, b_arr, stride, padding, dilation, groups, padding_mode,
                       algorithm, out is None)
    problem = _problems.get(key) if key is not None else None
    if problem is None:
        # The dtypes' checks (an ndarray passed as it is was not checked).
        x, weight = as_array(x, "input"), as_array(weight, "weight")
        b_arr = None if b_arr is None else as_array(b_arr, "bias")
        problem = _conv_problem(nd, x, weight, b_arr, stride, padding, dilation, groups,
                                padding_mode, algorithm, out is None)
        if key is not None:
            if len(_problems) >= PROBLEM_CACHE_SIZE:
                _problems.clear()
            _problems[key] = problem
    dtype = problem.dtype
    if out is not None:
        check_out(out, problem.out_shape, dtype,
                  [("input", x_in), ("weight", w_in), ("bias", bias)])

    xb = x if problem.batched else x[None]
    if convert_input:
        xb = np.ascontiguousarray(xb, dtype=dtype)
        if problem.padding_mode != "zeros":
            xb = pad_input(xb, problem)
    weight = np.ascontiguousarray(weight, dtype=dtype)
    if b_arr is not None:
        b_arr = np.ascontiguousarray(b_arr, dtype=dtype)
    return problem, xb, weight, b_arr, out


def pad_spatial(xb, before, after, padding_mode):
    """``xb`` ``(N, C, *spatial)`` padded by ``before``/``after`` cells per
    spatial dim, filled as ``padding_mode`` says (a new array)."""
    return np.pad(xb, [(0, 0), (0, 0)] + list(zip(before, after)),
                  mode=PADDING_MODES[padding_mode].numpy_mode)


def padded_source(size, before, after, padding_mode):
    """For each cell of one padded axis, the input index whose value it holds
    (-1 for a zero): the map that :func:`pad_spatial` applies, which the
    gradients use to fold the padding's gradient back onto the input."""
    index = np.arange(size)
    if padding_mode == "zeros":
        return np.pad(index, (before, after), constant_values=-1)
    return np.pad(index, (before, after), mode=PADDING_MODES[padding_mode].numpy_mode)


def explicitly_padded(problem):
    """Whether the kernels receive the input padded (a non-zero ``padding_mode``
    with some padding); zero padding is the kernels' own."""
    return problem.padding_mode != "zeros" and any(problem.pad_before + problem.pad_after)


def pad_input(xb, problem):
    """``xb`` padded explicitly for a non-zero ``padding_mode`` (zero padding is the kernels')."""
    if explicitly_padded(problem):
        xb = pad_spatial(xb, problem.pad_before, problem.pad_after, problem.padding_mode)
    return xb


def kernel_padding(problem):
    """The zero padding the kernel applies: none when ``x`` was padded explicitly."""
    if problem.padding_mode == "zeros":
        return problem.pad_before
    return (0,) * problem.nd
