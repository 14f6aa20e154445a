"""The public functions as IDEs, type checkers and readers see them.

Every public function is a plain ``def`` (not made by a factory) with a real
signature, a numpydoc docstring that documents each of its parameters, and,
where it takes ``algorithm=``, a documented set of algorithms that is exactly
the set it accepts.
"""
import inspect
import re

import numpy as np
import pytest

import fastconv
from fastconv import grad

PUBLIC = sorted(
    [(name, getattr(fastconv, name)) for name in fastconv.__all__
     if inspect.isfunction(getattr(fastconv, name))]
    + [(f"grad.{name}", getattr(grad, name)) for name in grad.__all__], key=lambda p: p[0])
#: Every value of ``algorithm=`` any function of the package knows, and one it does not.
CANDIDATES = tuple(dict.fromkeys(fastconv.ALGORITHMS + fastconv._signal.ALGORITHMS
                                 + ("separable", "nope")))


def _params_documented(doc):
    """The names of the numpydoc "Parameters" section (``a, b : type`` lines)."""
    section = re.search(r"\nParameters\n-+\n(.*?)(?:\n\n[A-Z][a-z]+( [A-Z][a-z]+)?\n-+\n|\Z)",
                        doc, re.S)
    assert section, "no Parameters section"
    names = []
    for line in section.group(1).splitlines():
        if line and not line[0].isspace():
            names += [n.strip() for n in line.split(" : ")[0].split(",")]
    return names


def _documented_algorithms(doc):
    entry = re.search(r"\nalgorithm : \{([^}]*)\}", doc)
    assert entry, "algorithm is documented without its set of values"
    return set(re.findall(r"'(\w+)'", entry.group(1)))


def test_public_functions_are_found():
    names = {name for name, _ in PUBLIC}
    assert {"conv1d", "conv2d", "conv3d", "conv_transpose2d", "plan_conv2d", "correlate",
            "grad.conv2d_input", "grad.conv3d_weight", "grad.octave_conv2d"} <= names


@pytest.mark.parametrize("name, fn", PUBLIC)
def test_defined_with_def(name, fn):
    """A module-level ``def`` of its own name: go-to-definition lands on it."""
    short = name.split(".")[-1]
    assert fn.__name__ == fn.__qualname__ == fn.__code__.co_name == short
    source, _ = inspect.getsourcelines(fn)
    assert source[0].startswith(f"def {short}("), source[0]
    signature = inspect.signature(fn)
    kinds = {p.kind for p in signature.parameters.values()}
    assert not kinds & {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}


@pytest.mark.parametrize("name, fn", PUBLIC)
def test_docstring_documents_every_parameter(name, fn):
    doc = inspect.getdoc(fn)
    assert doc and len(doc.splitlines()[0]) <= 100
    parameters = list(inspect.signature(fn).parameters)
    if parameters:
        documented = _params_documented(doc)
        assert sorted(documented) == sorted(parameters), (documented, parameters)
    assert "\nExamples\n--------\n" in doc and ">>> " in doc
    assert "\nReturns\n-------\n" in doc or "\nYields\n" in doc or name in (
        "set_num_threads", "show_config")


def _x(*shape):
    return np.random.default_rng(sum(shape)).standard_normal(shape)


def _octave():
    xh, xl = _x(1, 4, 8, 8), _x(1, 2, 4, 4)
    ws = [_x(3, 4, 3, 3), _x(2, 4, 3, 3), _x(3, 2, 3, 3), _x(2, 2, 3, 3)]
    return xh, xl, ws


def _grad_call(op, nd, kind):
    """A call of grad.{op}{nd}d_{kind} (op: conv or conv_transpose) where every
    convolution algorithm applies."""
    x, w = _x(*(1, 4) + (6,) * nd), _x(*(4, 4) + (3,) * nd)
    shape = {"conv": fastconv.conv_output_shape,
             "conv_transpose": fastconv.conv_transpose_output_shape}[op]
    gy = np.ones(shape(x.shape, w.shape, padding=1))
    fn = getattr(grad, f"{op}{nd}d_{kind}")
    if kind == "input":
        return lambda a: fn(x.shape, w, gy, padding=1, algorithm=a)
    return lambda a: fn(x, w.shape, gy, padding=1, algorithm=a)


def _calls():
    """``name -> call(algorithm)`` on a small problem every documented algorithm applies to."""
    calls = {}
    for nd in (1, 2, 3):
        x, w = _x(*(1, 4) + (6,) * nd), _x(*(4, 4) + (3,) * nd)
        calls[f"conv{nd}d"] = (lambda f, x, w: lambda a: f(x, w, padding=1, algorithm=a))(
            getattr(fastconv, f"conv{nd}d"), x, w)
        calls[f"conv_transpose{nd}d"] = (lambda f, x, w: lambda a: f(x, w, algorithm=a))(
            getattr(fastconv, f"conv_transpose{nd}d"), x, w)
        calls[f"plan_conv{nd}d"] = (lambda f, x, w: lambda a: f(w, x.shape, algorithm=a))(
            getattr(fastconv, f"plan_conv{nd}d"), x, w)
        for op in ("conv", "conv_transpose"):
            for kind in ("input", "weight"):
                calls[f"grad.{op}{nd}d_{kind}"] = _grad_call(op, nd, kind)
    x = _x(1, 4, 8, 8)
    dw, pw, cw, rw = _x(4, 1, 3, 3), _x(6, 4, 1, 1), _x(4, 4, 3, 1), _x(5, 4, 1, 3)
    xh, xl, ws = _octave()
    calls["depthwise_conv2d"] = lambda a: fastconv.depthwise_conv2d(x, dw, algorithm=a)
    calls["separable_conv2d"] = lambda a: fastconv.separable_conv2d(x, dw, pw, algorithm=a)
    calls["spatially_separable_conv2d"] = (
        lambda a: fastconv.spatially_separable_conv2d(x, cw, rw, algorithm=a))
    calls["octave_conv2d"] = lambda a: fastconv.octave_conv2d(xh, xl, *ws, padding=1,
                                                              algorithm=a)
    for name in ("correlate", "convolve"):
        calls[name] = (lambda f: lambda a: f(_x(9, 8), _x(3, 3), algorithm=a))(
            getattr(fastconv, name))
    calls["grad.depthwise_conv2d"] = lambda a: grad.depthwise_conv2d(
        x, dw, np.ones((1, 4, 6, 6)), algorithm=a)
    calls["grad.separable_conv2d"] = lambda a: grad.separable_conv2d(
        x, dw, pw, np.ones((1, 6, 6, 6)), algorithm=a)
    calls["grad.spatially_separable_conv2d"] = lambda a: grad.spatially_separable_conv2d(
        x, cw, rw, np.ones((1, 5, 6, 6)), algorithm=a)
    calls["grad.octave_conv2d"] = lambda a: grad.octave_conv2d(
        xh, xl, *ws, np.ones((1, 3, 8, 8)), np.ones((1, 2, 4, 4)), padding=1, algorithm=a)
    return calls


CALLS = _calls()
WITH_ALGORITHM = [(name, fn) for name, fn in PUBLIC
                  if "algorithm" in inspect.signature(fn).parameters]


def test_every_function_with_an_algorithm_is_exercised():
    assert sorted(name for name, _ in WITH_ALGORITHM) == sorted(CALLS)


@pytest.mark.parametrize("name, fn", WITH_ALGORITHM)
def test_documented_algorithms_are_the_accepted_ones(name, fn):
    documented = _documented_algorithms(inspect.getdoc(fn))
    assert documented <= set(CANDIDATES)
    call = CALLS[name]
    for algorithm in CANDIDATES:
        if algorithm in documented:
            call(algorithm)
        else:
            with pytest.raises(ValueError, match=f"algorithm={algorithm!r}"):
                call(algorithm)


def test_weight_gradients_take_the_gemm_only():
    """The weight gradients' one algorithm, whatever the geometry: 'winograd' is
    refused on a layer it would apply to, and on one it would not."""
    x, w = _x(1, 4, 7, 7), _x(4, 4, 5, 5)
    gy = np.ones(fastconv.conv_output_shape(x.shape, w.shape, stride=2))
    for algorithm in ("direct", "winograd"):
        with pytest.raises(ValueError, match="im2col algorithm"):
            grad.conv2d_weight(x, w.shape, gy, stride=2, algorithm=algorithm)
    auto = grad.conv2d_weight(x, w.shape, gy, stride=2)
    np.testing.assert_array_equal(
        grad.conv2d_weight(x, w.shape, gy, stride=2, algorithm="im2col"), auto)


def test_input_gradient_refuses_winograd_where_the_forward_does():
    """A 6x6 stride-2 kernel: each stride phase has 3 x 3 taps, which Winograd
    could compute, but the forward convolution refuses 'winograd' here, and
    so does its gradient, with the same message."""
    x, w = _x(1, 4, 12, 12), _x(4, 4, 6, 6)
    gy = np.ones(fastconv.conv_output_shape(x.shape, w.shape, stride=2, padding=2))
    with pytest.raises(ValueError, match="winograd") as forward:
        fastconv.conv2d(x, w, stride=2, padding=2, algorithm="winograd")
    with pytest.raises(ValueError) as backward:
        grad.conv2d_input(x.shape, w, gy, stride=2, padding=2, algorithm="winograd")
    assert str(backward.value) == str(forward.value)
