"""Tests of the float64 reference itself.

The vectorised reference (:func:`fastconv.reference.conv_nd`) is checked
against the literal scalar-loop version on tiny random cases, against
hand-computed values, and, when PyTorch is installed, against
``torch.nn.functional.conv{1,2,3}d`` in float64.
"""
import ast
import pathlib
import inspect
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastconv import reference as ref

MODES = ("zeros", "reflect", "replicate", "circular")


# --------------------------------------------------------------------------
# Independence and basic behaviour
# --------------------------------------------------------------------------
def test_reference_does_not_import_fastconv():
    """The oracle is independent: its modules import only NumPy and each other."""
    package = pathlib.Path(ref.__file__).parent
    sources = sorted(package.glob("*.py"))
    assert len(sources) >= 2
    for source in sources:
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"relative import in {source.name}"
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert (name.split(".")[0] != "fastconv"
                        or name.startswith("fastconv.reference")), (
                    f"{source.name} imports {name}")


def test_hand_computed_1d():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])[None, None]
    w = np.array([1.0, 10.0, 100.0])[None, None]
    np.testing.assert_array_equal(ref.conv1d(x, w), [[[321.0, 432.0, 543.0]]])
    np.testing.assert_array_equal(ref.conv1d(x, w, stride=2), [[[321.0, 543.0]]])
    np.testing.assert_array_equal(ref.conv1d(x, w, dilation=2), [[[531.0]]])
    np.testing.assert_array_equal(ref.conv1d(x, w, padding=1),
                                  [[[210.0, 321.0, 432.0, 543.0, 54.0]]])
    np.testing.assert_array_equal(ref.conv1d(x, w, padding=1, padding_mode="reflect"),
                                  [[[212.0, 321.0, 432.0, 543.0, 454.0]]])
    np.testing.assert_array_equal(ref.conv1d(x, w, padding=1, padding_mode="replicate"),
                                  [[[211.0, 321.0, 432.0, 543.0, 554.0]]])
    np.testing.assert_array_equal(ref.conv1d(x, w, padding=1, padding_mode="circular"),
                                  [[[215.0, 321.0, 432.0, 543.0, 154.0]]])
    np.testing.assert_array_equal(ref.conv1d(x, w, padding=((2, 0),)),
                                  [[[100.0, 210.0, 321.0, 432.0, 543.0]]])
    np.testing.assert_array_equal(ref.conv1d(x, w, bias=[0.5]), [[[321.5, 432.5, 543.5]]])


def test_hand_computed_groups():
    # Two groups, one input channel each; channel 1 of the output sees only
    # input channel 1.
    x = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])
    w = np.array([[[1.0, 1.0]], [[1.0, -1.0]]])
    np.testing.assert_array_equal(ref.conv1d(x, w, groups=2), [[3.0, 5.0], [-10.0, -10.0]])


def test_same_padding_rule():
    # TensorFlow's rule for every stride: out = ceil(in / stride).
    for n_in, k, s, d in itertools.product((1, 2, 5, 10, 11), (1, 2, 3, 4), (1, 2, 3), (1, 2)):
        pads = ref.resolve_padding("same", (n_in,), (k,), stride=s, dilation=d)
        n_out = -(-n_in // s)
        total = max((n_out - 1) * s + (k - 1) * d + 1 - n_in, 0)
        assert pads == [(total // 2, total - total // 2)]
        assert ref.output_shape((1, n_in), (1, 1, k), s, "same", d) == (1, n_out)
    # Worked example: in=10, k=3, stride=2 -> out=5, total padding 1, after side.
    assert ref.resolve_padding("same", (10,), (3,), stride=2) == [(0, 1)]
    assert ref.output_shape((1, 1, 10), (1, 1, 3), stride=2, padding="same") == (1, 1, 5)


def test_padding_forms():
    assert ref.resolve_padding(2, (5, 6), (3, 3)) == [(2, 2), (2, 2)]
    assert ref.resolve_padding((1, 2), (5, 6), (3, 3)) == [(1, 1), (2, 2)]
    assert ref.resolve_padding(((0, 1), (2, 3)), (5, 6), (3, 3)) == [(0, 1), (2, 3)]
    assert ref.resolve_padding(((0, 1), 3), (5, 6), (3, 3)) == [(0, 1), (3, 3)]
    assert ref.resolve_padding("valid", (5, 6), (3, 3)) == [(0, 0), (0, 0)]


def test_unbatched_and_empty_batch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7, 6))
    w = rng.standard_normal((4, 3, 2, 3))
    y = ref.conv2d(x, w, padding=1)
    assert y.shape == (4, 8, 6)
    np.testing.assert_array_equal(y, ref.conv2d(x[None], w, padding=1)[0])
    y0 = ref.conv2d(np.zeros((0, 3, 7, 6)), w, padding=1)
    assert y0.shape == (0, 4, 8, 6) and y0.dtype == np.float64


def test_integer_and_bool_inputs_give_float64():
    x = np.arange(12, dtype=np.int32).reshape(1, 2, 6)
    w = np.ones((3, 2, 2), dtype=bool)
    y = ref.conv1d(x, w)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, ref.conv1d(x.astype(float), w.astype(float)))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(x=np.zeros((1, 4, 8)), weight=np.zeros((2, 3, 3))), "C_in"),
        (dict(x=np.zeros((1, 4, 8)), weight=np.zeros((3, 2, 3)), groups=2), "groups"),
        (dict(x=np.zeros((1, 4, 8)), weight=np.zeros((2, 4, 3)), groups=0), "groups"),
        (dict(x=np.zeros((1, 1, 4, 8)), weight=np.zeros((2, 4, 3))), "dimensions"),
        (dict(x=np.zeros((1, 4, 2)), weight=np.zeros((2, 4, 3))), "kernel"),
        (dict(x=np.zeros((1, 4, 8)), weight=np.zeros((2, 4, 3)), bias=np.zeros(3)), "bias"),
        (dict(x=np.zeros((1, 4, 8)), weight=np.zeros((2, 4, 3)), padding=-1), "padding"),
        (dict(x=np.zeros((1, 4, 8)), weight=np.zeros((2, 4, 3)), padding="full"), "padding"),
        (dict(x=np.zeros((1, 4, 8)), weight=np.zeros((2, 4, 3)), stride=0), "stride"),
        (dict(x=np.zeros((1, 4, 8)), weight=np.zeros((2, 4, 3)), dilation=(1, 1)), "dilation"),
        (dict(x=np.zeros((1, 4, 8)), weight=np.zeros((2, 4, 3)), padding=8,
              padding_mode="reflect"), "reflect"),
        (dict(x=np.zeros((1, 4, 8)), weight=np.zeros((2, 4, 3)), padding=9,
              padding_mode="circular"), "circular"),
        (dict(x=np.zeros((1, 4, 8)), weight=np.zeros((2, 4, 3)), padding=1,
              padding_mode="mirror"), "padding_mode"),
    ],
)
def test_reference_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ref.conv_nd(**kwargs)


def test_reference_rejects_complex():
    with pytest.raises(TypeError):
        ref.conv1d(np.zeros((1, 1, 4), complex), np.zeros((1, 1, 2)))


def test_fixed_nd_wrappers_check_dimensionality():
    with pytest.raises(ValueError, match="conv2d"):
        ref.conv2d(np.zeros((1, 1, 5)), np.zeros((1, 1, 3)))
    with pytest.raises(ValueError, match="conv1d"):
        ref.conv1d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)))


def test_inputs_not_modified():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 6, 5))
    w = rng.standard_normal((6, 2, 3, 2))
    b = rng.standard_normal(6)
    copies = [a.copy() for a in (x, w, b)]
    ref.conv2d(x, w, b, padding=2, groups=2, padding_mode="circular")
    for a, c in zip((x, w, b), copies):
        np.testing.assert_array_equal(a, c)


# --------------------------------------------------------------------------
# Vectorised reference == scalar-loop reference on tiny random cases
# --------------------------------------------------------------------------
def _loops_vs_vectorised(rng, n, c_in, c_out, groups, spatial, kernel, bias=True,
                         **kwargs):
    x = rng.standard_normal((n, c_in) + tuple(spatial))
    w = rng.standard_normal((c_out, c_in // groups) + tuple(kernel))
    b = rng.standard_normal(c_out) if bias else None
    y_vec = ref.conv_nd(x, w, b, groups=groups, **kwargs)
    y_loop = ref.conv_nd_loops(x, w, b, groups=groups, **kwargs)
    assert y_vec.shape == y_loop.shape
    np.testing.assert_allclose(y_vec, y_loop, rtol=1e-12, atol=1e-12)
    assert y_vec.shape == ref.output_shape(x.shape, w.shape, kwargs.get("stride", 1),
                                           kwargs.get("padding", 0), kwargs.get("dilation", 1))
    return y_vec


TINY_CASES = [
    dict(nd=1, n=2, c_in=2, c_out=3, groups=1, spatial=(7,), kernel=(3,)),
    dict(nd=1, n=1, c_in=4, c_out=2, groups=2, spatial=(9,), kernel=(2,), stride=2, padding=1),
    dict(nd=1, n=1, c_in=3, c_out=6, groups=3, spatial=(8,), kernel=(3,), dilation=2,
         padding="same"),
    dict(nd=1, n=2, c_in=2, c_out=2, groups=1, spatial=(6,), kernel=(4,), padding="same",
         stride=3),
    dict(nd=1, n=1, c_in=2, c_out=1, groups=1, spatial=(5,), kernel=(1,), padding=((3, 1),)),
    dict(nd=2, n=1, c_in=2, c_out=2, groups=1, spatial=(5, 6), kernel=(3, 2),
         stride=(2, 1), dilation=(1, 2), padding=((1, 0), (2, 1))),
    dict(nd=2, n=2, c_in=4, c_out=4, groups=4, spatial=(4, 5), kernel=(2, 2), padding="same"),
    dict(nd=2, n=1, c_in=3, c_out=2, groups=1, spatial=(6, 4), kernel=(3, 3), padding="valid",
         bias=False),
    dict(nd=3, n=1, c_in=2, c_out=2, groups=2, spatial=(3, 4, 5), kernel=(2, 1, 3),
         padding=(1, 0, 2), stride=(1, 2, 2)),
    dict(nd=3, n=2, c_in=1, c_out=2, groups=1, spatial=(4, 3, 3), kernel=(2, 2, 2),
         dilation=(2, 1, 1), padding="same", stride=2),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", TINY_CASES, ids=lambda c: f"{c['nd']}d-{c['spatial']}")
def test_vectorised_matches_loops(case, mode):
    rng = np.random.default_rng(len(str(case)))
    case = dict(case)
    case.pop("nd")
    _loops_vs_vectorised(rng, padding_mode=mode, **case)


@st.composite
def tiny_problems(draw):
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    mode = draw(st.sampled_from(MODES))
    form = draw(st.sampled_from(["int", "pairs", "valid", "same"]))
    if form == "int":
        padding = draw(st.integers(0, 2))
    elif form == "pairs":
        padding = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(nd))
    else:
        padding = form
    spatial = []
    for dim in range(nd):
        size = draw(st.integers(1, 6 if nd < 3 else 4))
        while True:
            pads = ref.resolve_padding(padding, (size,) * nd, kernel, stride, dilation)[dim]
            fits = size + sum(pads) >= (kernel[dim] - 1) * dilation[dim] + 1
            if mode == "reflect":
                fits = fits and max(pads) < size
            elif mode == "circular":
                fits = fits and max(pads) <= size
            if fits:
                break
            size += 1
        spatial.append(size)
    n = draw(st.integers(1, 2))
    return dict(n=n, c_in=c_in, c_out=c_out, groups=groups, spatial=tuple(spatial),
                kernel=kernel, stride=stride, dilation=dilation, padding=padding,
                padding_mode=mode, bias=draw(st.booleans()))


@settings(max_examples=60, deadline=None)
@given(problem=tiny_problems(), seed=st.integers(0, 2**32 - 1))
def test_vectorised_matches_loops_hypothesis(problem, seed):
    _loops_vs_vectorised(np.random.default_rng(seed), **problem)


# --------------------------------------------------------------------------
# Reference == PyTorch (float64)
# --------------------------------------------------------------------------
def _torch_conv(x, w, b, stride, padding, dilation, groups, padding_mode):
    """torch.nn.functional.conv*d with explicit F.pad for the padding."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    nd = w.ndim - 2
    tx = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
    tw = torch.from_numpy(np.ascontiguousarray(w, dtype=np.float64))
    tb = None if b is None else torch.from_numpy(np.ascontiguousarray(b, dtype=np.float64))
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    symmetric = isinstance(padding, int) or (
        isinstance(padding, (tuple, list)) and all(isinstance(p, int) for p in padding))
    if padding_mode == "zeros" and symmetric:
        # Symmetric zero padding: let torch pad itself.
        out = conv(tx, tw, tb, stride=stride, padding=padding, dilation=dilation, groups=groups)
        return out.numpy()
    pads = ref.resolve_padding(padding, x.shape[-nd:], w.shape[2:], stride, dilation)
    torch_pad = []
    for before, after in reversed(pads):  # F.pad starts from the last dim
        torch_pad += [before, after]
    mode = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
            "circular": "circular"}[padding_mode]
    batched = x.ndim == nd + 2
    if not batched:
        tx = tx[None]
    txp = F.pad(tx, torch_pad, mode=mode)
    out = conv(txp, tw, tb, stride=stride, padding=0, dilation=dilation, groups=groups)
    return out.numpy() if batched else out[0].numpy()


TORCH_CASES = [
    # nd, N, C_in, C_out, groups, spatial, kernel, kwargs
    (1, 2, 3, 5, 1, (97,), (3,), dict(padding=1)),
    (1, 3, 6, 4, 2, (101,), (4,), dict(stride=3, dilation=2, padding=((3, 1),))),
    (1, 1, 8, 16, 8, (64,), (5,), dict(padding="same", padding_mode="reflect")),
    (1, 2, 4, 4, 1, (31,), (2,), dict(padding=3, padding_mode="circular", stride=2)),
    (1, 1, 3, 7, 1, (19,), (3,), dict(padding=(2,), padding_mode="replicate")),
    (2, 2, 3, 5, 1, (13, 17), (3, 3), dict(padding=1)),
    (2, 1, 4, 6, 2, (31, 29), (3, 2), dict(stride=(2, 3), dilation=(2, 1), padding=(2, 1))),
    (2, 2, 6, 6, 6, (12, 11), (3, 3), dict(padding="same", padding_mode="reflect")),
    (2, 1, 3, 6, 3, (9, 10), (4, 4), dict(padding="same", stride=2, padding_mode="circular")),
    (2, 1, 2, 3, 1, (8, 9), (2, 3), dict(padding=((0, 2), (1, 3)), padding_mode="replicate")),
    (2, 1, 5, 3, 1, (7, 7), (1, 1), dict(stride=2)),
    (2, 2, 4, 4, 1, (10, 12), (3, 3), dict(padding="valid", dilation=(1, 3))),
    (3, 1, 2, 3, 1, (5, 7, 9), (3, 3, 3), dict(padding=1)),
    (3, 2, 4, 4, 2, (6, 5, 7), (2, 3, 2), dict(stride=(1, 2, 2), padding="same",
                                                padding_mode="replicate")),
    (3, 1, 3, 3, 3, (5, 6, 7), (3, 3, 3), dict(padding=(1, 2, 1), padding_mode="reflect",
                                                dilation=(1, 2, 1))),
    (3, 1, 2, 2, 1, (4, 5, 6), (2, 2, 3), dict(padding=((1, 0), (0, 2), (2, 2)),
                                                padding_mode="circular")),
]


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("case", TORCH_CASES, ids=lambda c: str(c) if isinstance(c, int) else None)
def test_reference_matches_torch(case, batched):
    pytest.importorskip("torch")
    nd, n, c_in, c_out, groups, spatial, kernel, kwargs = case
    rng = np.random.default_rng(sum(spatial) + c_out)
    shape = ((n,) if batched else ()) + (c_in,) + spatial
    x = rng.standard_normal(shape)
    w = rng.standard_normal((c_out, c_in // groups) + kernel)
    b = rng.standard_normal(c_out)
    kwargs = dict(kwargs)
    stride = kwargs.pop("stride", 1)
    padding = kwargs.pop("padding", 0)
    dilation = kwargs.pop("dilation", 1)
    mode = kwargs.pop("padding_mode", "zeros")
    fn = (ref.conv1d, ref.conv2d, ref.conv3d)[nd - 1]
    y = fn(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups,
           padding_mode=mode)
    expected = _torch_conv(x, w, b, stride, padding, dilation, groups, mode)
    assert y.shape == expected.shape
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, expected, rtol=1e-11, atol=1e-11)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kernel", [2, 3, 4])
@pytest.mark.parametrize("dilation", [1, 2])
def test_same_padding_matches_torch_stride1(nd, kernel, dilation):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(nd * 100 + kernel * 10 + dilation)
    spatial = (11, 8, 7)[:nd]
    x = rng.standard_normal((2, 3) + spatial)
    w = rng.standard_normal((4, 3) + (kernel,) * nd)
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    expected = conv(torch.from_numpy(x), torch.from_numpy(w), padding="same",
                    dilation=dilation).numpy()
    y = ref.conv_nd(x, w, padding="same", dilation=dilation)
    np.testing.assert_allclose(y, expected, rtol=1e-11, atol=1e-11)


@settings(max_examples=40, deadline=None)
@given(problem=tiny_problems(), seed=st.integers(0, 2**32 - 1))
def test_reference_matches_torch_hypothesis(problem, seed):
    pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    nd = len(problem["spatial"])
    x = rng.standard_normal((problem["n"], problem["c_in"]) + problem["spatial"])
    w = rng.standard_normal((problem["c_out"], problem["c_in"] // problem["groups"])
                            + problem["kernel"])
    b = rng.standard_normal(problem["c_out"]) if problem["bias"] else None
    kw = dict(stride=problem["stride"], padding=problem["padding"],
              dilation=problem["dilation"], groups=problem["groups"],
              padding_mode=problem["padding_mode"])
    y = ref.conv_nd(x, w, b, **kw)
    expected = _torch_conv(x, w, b, kw["stride"], kw["padding"], kw["dilation"],
                           kw["groups"], kw["padding_mode"])
    assert y.ndim == nd + 2
    np.testing.assert_allclose(y, expected, rtol=1e-11, atol=1e-11)
