"""Argument validation: the right exception type, and a message that names the
argument and the offending values."""
import re

import numpy as np
import pytest

import fastconv
from fastconv import reference

def z(*shape, dtype=np.float64):
    return np.zeros(shape, dtype=dtype)


def _mentions(message, value):
    """Whether ``value`` (a number or a word) appears as a token of ``message``."""
    text = re.escape(str(value))
    return re.search(rf"(?<![\w.]){text}(?![\w])", message) is not None


def check_error(exc_type, call, name, *values):
    """``call()`` raises ``exc_type``, naming ``name`` (a regex) and every value."""
    with pytest.raises(exc_type, match=name) as info:
        call()
    message = str(info.value)
    for value in values:
        assert _mentions(message, value), f"{value!r} not named in: {message}"
    return message


# Each entry: id, exception type, function name, positional args, keyword args,
# regex the message must match (the argument), values it must mention.
VALUE_ERRORS = [
    # wrong number of dimensions
    ("input-ndim-low", "conv2d", (z(7, 5), z(4, 7, 3, 3)), {}, "input", [7, 5]),
    ("input-ndim-high", "conv2d", (z(2, 3, 11, 13, 17), z(4, 3, 3, 3)), {}, "input", [17]),
    ("input-ndim-1d", "conv1d", (z(9), z(4, 1, 3)), {}, "input", [9]),
    ("weight-ndim", "conv2d", (z(1, 3, 8, 8), z(6, 3, 5)), {}, "weight", [6, 5]),
    ("weight-ndim-3d", "conv3d", (z(1, 3, 8, 8, 8), z(6, 3, 5, 5)), {}, "weight", [6, 5]),
    # channels and groups
    ("channels", "conv2d", (z(2, 7, 10, 10), z(4, 3, 3, 3)), {}, "C_in|channel", [7, 3]),
    ("channels-groups", "conv1d", (z(1, 6, 10), z(4, 4, 3)), dict(groups=2),
     "C_in|channel", [6, 8]),
    ("groups-divide-cout", "conv1d", (z(1, 6, 10), z(5, 3, 3)), dict(groups=2),
     "groups", [2, 5]),
    ("groups-zero", "conv1d", (z(1, 6, 10), z(6, 6, 3)), dict(groups=0), "groups", [0]),
    ("groups-negative", "conv1d", (z(1, 6, 10), z(6, 6, 3)), dict(groups=-2), "groups", [-2]),
    # padding
    ("padding-negative", "conv2d", (z(1, 1, 8, 8), z(1, 1, 3, 3)), dict(padding=-1),
     "padding", [-1]),
    ("padding-negative-per-dim", "conv2d", (z(1, 1, 8, 8), z(1, 1, 3, 3)),
     dict(padding=(1, -2)), "padding", [-2]),
    ("padding-negative-pair", "conv2d", (z(1, 1, 8, 8), z(1, 1, 3, 3)),
     dict(padding=((0, 1), (-3, 0))), "padding", [-3]),
    ("padding-length", "conv2d", (z(1, 1, 8, 8), z(1, 1, 3, 3)), dict(padding=(1, 2, 3)),
     "padding", [2, 3]),
    ("padding-length-3d", "conv3d", (z(1, 1, 8, 8, 8), z(1, 1, 3, 3, 3)),
     dict(padding=(1, 1)), "padding", [3]),
    ("padding-string", "conv2d", (z(1, 1, 8, 8), z(1, 1, 3, 3)), dict(padding="full"),
     "padding", ["full"]),
    ("padding-mode", "conv2d", (z(1, 1, 8, 8), z(1, 1, 3, 3)),
     dict(padding=1, padding_mode="mirror"), "padding_mode", ["mirror"]),
    ("reflect-too-large", "conv1d", (z(1, 1, 5), z(1, 1, 3)),
     dict(padding=5, padding_mode="reflect"), "padding|reflect", [5]),
    ("reflect-same-size", "conv2d", (z(1, 1, 4, 9), z(1, 1, 3, 3)),
     dict(padding=(4, 1), padding_mode="reflect"), "padding|reflect", [4]),
    ("circular-too-large", "conv1d", (z(1, 1, 5), z(1, 1, 3)),
     dict(padding=6, padding_mode="circular"), "padding|circular", [6, 5]),
    # stride and dilation
    ("stride-zero", "conv2d", (z(1, 1, 8, 8), z(1, 1, 3, 3)), dict(stride=0), "stride", [0]),
    ("stride-negative", "conv1d", (z(1, 1, 8), z(1, 1, 3)), dict(stride=-1), "stride", [-1]),
    ("stride-per-dim", "conv2d", (z(1, 1, 8, 8), z(1, 1, 3, 3)), dict(stride=(1, 0)),
     "stride", [0]),
    ("stride-length", "conv2d", (z(1, 1, 8, 8), z(1, 1, 3, 3)), dict(stride=(1, 2, 3)),
     "stride", [2, 3]),
    ("dilation-zero", "conv2d", (z(1, 1, 8, 8), z(1, 1, 3, 3)), dict(dilation=0),
     "dilation", [0]),
    ("dilation-per-dim", "conv3d", (z(1, 1, 8, 8, 8), z(1, 1, 3, 3, 3)),
     dict(dilation=(2, -1, 1)), "dilation", [-1]),
    ("dilation-length", "conv3d", (z(1, 1, 8, 8, 8), z(1, 1, 3, 3, 3)), dict(dilation=(1,)),
     "dilation", [3]),
    # kernel larger than the padded input
    ("kernel-too-large", "conv2d", (z(1, 1, 4, 5), z(1, 1, 3, 7)), {}, "kernel", [7, 5]),
    ("kernel-dilated-too-large", "conv1d", (z(1, 1, 10), z(1, 1, 3)), dict(dilation=5),
     "kernel", [11, 10]),
    ("kernel-too-large-padded", "conv1d", (z(1, 1, 8), z(1, 1, 12)), dict(padding=1),
     "kernel", [12, 10]),
    ("kernel-too-large-3d", "conv3d", (z(1, 1, 6, 6, 2), z(1, 1, 1, 1, 3)), {},
     "kernel", [3, 2]),
    # bias
    ("bias-length", "conv2d", (z(1, 3, 8, 8), z(4, 3, 3, 3), z(3)), {}, "bias", [4, 3]),
    ("bias-2d", "conv1d", (z(1, 3, 8), z(4, 3, 3), z(4, 1)), {}, "bias", [4]),
    # algorithm
    ("algorithm", "conv2d", (z(1, 1, 8, 8), z(1, 1, 3, 3)), dict(algorithm="fft"),
     "algorithm", ["fft"]),
    # out
    ("out-shape", "conv1d", (z(2, 3, 10), z(4, 3, 3)), dict(out=z(2, 4, 9)), "out", [9, 8]),
    ("out-dtype", "conv1d", (z(2, 3, 10), z(4, 3, 3)),
     dict(out=z(2, 4, 8, dtype=np.float32)), "out", ["float32", "float64"]),
]


@pytest.mark.parametrize("fn, args, kwargs, name, values",
                         [e[1:] for e in VALUE_ERRORS], ids=[e[0] for e in VALUE_ERRORS])
def test_value_errors(fn, args, kwargs, name, values):
    check_error(ValueError, lambda: getattr(fastconv, fn)(*args, **kwargs), name, *values)


def test_validation_does_not_depend_on_the_algorithm():
    # The arguments are validated before an algorithm is chosen: every
    # algorithm raises the same error with the same message (Winograd's own
    # refusal, for kernels it cannot compute, comes after these checks).
    for case_id, fn, args, kwargs, _, _ in VALUE_ERRORS:
        if "algorithm" in kwargs:
            continue
        messages = set()
        for algorithm in fastconv.ALGORITHMS:
            with pytest.raises(ValueError) as info:
                getattr(fastconv, fn)(*args, algorithm=algorithm, **kwargs)
            messages.add(str(info.value))
        assert len(messages) == 1, f"{case_id}: {messages}"


def test_winograd_where_it_cannot_apply_says_why():
    # A 5x5 kernel, a stride of 2, a kernel without a 3-tap axis.
    for w_shape, kwargs, why in [((1, 1, 5, 5), {}, "3 (or 1) taps"),
                                 ((1, 1, 3, 3), {"stride": 2}, "stride 1"),
                                 ((1, 1, 1, 1), {}, "an axis of 3 taps")]:
        message = check_error(ValueError, lambda: fastconv.conv2d(
            z(1, 1, 8, 8), z(*w_shape), algorithm="winograd", **kwargs), "winograd")
        assert why in message
        for algorithm in ("auto", "direct", "im2col"):
            assert repr(algorithm) in message


def test_unknown_algorithm_lists_every_algorithm():
    message = check_error(ValueError, lambda: fastconv.conv2d(z(1, 1, 8, 8), z(1, 1, 3, 3),
                                                              algorithm="fft"), "algorithm")
    for algorithm in fastconv.ALGORITHMS:
        assert algorithm in message
    assert fastconv.ALGORITHMS == ("auto", "direct", "im2col", "winograd")


def test_algorithms_constant():
    assert isinstance(fastconv.ALGORITHMS, tuple)
    assert fastconv.ALGORITHMS[0] == "auto"


@pytest.mark.parametrize("groups", [1.5, "2", None])
def test_groups_not_an_int(groups):
    with pytest.raises((ValueError, TypeError), match="groups"):
        fastconv.conv1d(z(1, 2, 8), z(2, 1, 3), groups=groups)


@pytest.mark.parametrize("name", ["stride", "dilation"])
@pytest.mark.parametrize("value", [1.0, "1", (1.0, 2)])
def test_stride_dilation_not_ints(name, value):
    with pytest.raises((ValueError, TypeError), match=name):
        fastconv.conv2d(z(1, 1, 8, 8), z(1, 1, 3, 3), **{name: value})


@pytest.mark.parametrize("padding", [1.5, ((1, 2, 3), (0, 0)), ((1,), (0, 0)), None])
def test_padding_malformed(padding):
    with pytest.raises((ValueError, TypeError), match="padding"):
        fastconv.conv2d(z(1, 1, 8, 8), z(1, 1, 3, 3), padding=padding)


@pytest.mark.parametrize("fn", ["conv1d", "conv2d", "conv3d"])
def test_every_entry_point_validates(fn):
    nd = int(fn[4])
    x = z(1, 3, *(6,) * nd)
    w = z(2, 2, *(3,) * nd)
    check_error(ValueError, lambda: getattr(fastconv, fn)(x, w), "C_in|channel", 3, 2)
    w = z(2, 3, *(3,) * nd)
    check_error(ValueError, lambda: getattr(fastconv, fn)(x, w, stride=0), "stride", 0)
    check_error(ValueError, lambda: getattr(fastconv, fn)(x, w, padding=-4), "padding", -4)
    check_error(ValueError, lambda: getattr(fastconv, fn)(x, w, dilation=4), "kernel", 9, 6)


# --------------------------------------------------------------------------
# dtypes that cannot be convolved
# --------------------------------------------------------------------------
BAD_DTYPE_ARRAYS = {
    "object": lambda shape: np.zeros(shape, object),
    "str": lambda shape: np.full(shape, "a"),
    "bytes": lambda shape: np.full(shape, b"a"),
}
if np.dtype(np.clongdouble).itemsize > 16:          # extended-precision complex
    BAD_DTYPE_ARRAYS["clongdouble"] = lambda shape: np.zeros(shape, np.clongdouble)


@pytest.mark.parametrize("kind", list(BAD_DTYPE_ARRAYS))
@pytest.mark.parametrize("which", ["input", "weight", "bias"])
def test_type_errors(which, kind):
    arrays = {"input": z(1, 2, 8), "weight": z(3, 2, 3), "bias": z(3)}
    arrays[which] = BAD_DTYPE_ARRAYS[kind](arrays[which].shape)
    messages = set()
    for algorithm in fastconv.ALGORITHMS:     # checked before the algorithm matters
        with pytest.raises(TypeError, match=which) as info:
            fastconv.conv1d(arrays["input"], arrays["weight"], arrays["bias"],
                            algorithm=algorithm)
        messages.add(str(info.value))
    assert len(messages) == 1, messages
    message = messages.pop()
    assert str(arrays[which].dtype) in message or kind.rstrip("0123456789") in message


def test_complex_python_values_are_computed():
    y = fastconv.conv1d([[1 + 2j, 3.0, 4.0]], [[[1.0, 1.0j]]])
    np.testing.assert_allclose(y, [[1 + 5j, 3 + 4j]], rtol=0, atol=1e-15)
    assert y.dtype == np.complex128


# --------------------------------------------------------------------------
# conv_output_shape
# --------------------------------------------------------------------------
SHAPE_CASES = [
    ((8, 3, 224, 224), (64, 3, 7, 7), dict(stride=2, padding=3), (8, 64, 112, 112)),
    ((3, 10), (4, 3, 3), dict(stride=2, padding="same"), (4, 5)),
    ((2, 3, 10), (4, 3, 3), dict(padding="valid"), (2, 4, 8)),
    ((2, 3, 10), (4, 3, 4), dict(padding="same"), (2, 4, 10)),
    ((2, 3, 11), (4, 3, 3), dict(stride=3, padding="same", dilation=2), (2, 4, 4)),
    ((1, 3, 97), (5, 3, 3), dict(stride=2, padding=((2, 0),), dilation=3), (1, 5, 47)),
    ((2, 6, 13, 17), (6, 3, 3, 3), dict(stride=(2, 3), padding=(1, 0)), (2, 6, 7, 5)),
    ((1, 2, 5, 7, 9), (4, 2, 3, 3, 3), dict(stride=(1, 2, 3), dilation=(1, 2, 1),
                                             padding=((1, 0), (2, 2), 0)), (1, 4, 4, 4, 3)),
    ((0, 3, 10, 10), (4, 3, 3, 3), dict(padding=1), (0, 4, 10, 10)),
    ((3, 5, 5, 5), (2, 3, 5, 5, 5), {}, (2, 1, 1, 1)),
]


@pytest.mark.parametrize("input_shape, weight_shape, kwargs, expected", SHAPE_CASES)
def test_conv_output_shape(input_shape, weight_shape, kwargs, expected):
    shape = fastconv.conv_output_shape(input_shape, weight_shape, **kwargs)
    assert tuple(shape) == expected
    assert reference.output_shape(input_shape, weight_shape, **kwargs) == expected
    # And the shape of an actual (reference and fastconv) result.
    x = np.zeros(input_shape)
    w = np.zeros(weight_shape)
    groups = input_shape[-len(weight_shape) + 1] // weight_shape[1]
    assert reference.conv_nd(x, w, groups=groups, **kwargs).shape == expected
    fn = getattr(fastconv, f"conv{len(weight_shape) - 2}d")
    assert fn(x, w, groups=groups, **kwargs).shape == expected


@pytest.mark.parametrize(
    "input_shape, weight_shape, kwargs, name",
    [
        ((1, 1, 4, 4), (1, 1, 5, 5), {}, "kernel"),
        ((1, 1, 10), (1, 1, 3), dict(dilation=5), "kernel"),
        ((1, 1, 10), (1, 1, 3), dict(stride=0), "stride"),
        ((1, 1, 10), (1, 1, 3), dict(dilation=(1, 1)), "dilation"),
        ((1, 1, 10), (1, 1, 3), dict(padding=-1), "padding"),
        ((1, 1, 10), (1, 1, 3), dict(padding="full"), "padding"),
        ((5,), (1, 1, 3, 3), {}, "input_shape"),
        ((1, 1, 1, 5, 5), (1, 1, 3, 3), {}, "input_shape"),
        ((1, 1, 5), (1, 1), {}, "weight_shape"),
    ],
)
def test_conv_output_shape_errors(input_shape, weight_shape, kwargs, name):
    with pytest.raises(ValueError, match=name):
        fastconv.conv_output_shape(input_shape, weight_shape, **kwargs)
