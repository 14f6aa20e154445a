"""Every fastconv algorithm against the float64 reference.

The grid varies one or two things at a time around a base problem for each
dimensionality (kernel sizes, strides, dilations, every padding form and
mode, groups, channel counts that are not multiples of any blocking, batch
sizes, bias, unbatched inputs), runs it in float32 and float64 for the
explicit algorithms ``direct`` and ``im2col`` (Winograd: tests/test_winograd.py
on the same grids; ``auto``: it runs one of them, checked bitwise below), and
adds realistic layers large enough to exercise the blocked code paths,
dtype-promotion cases, hypothesis-drawn problems, and a few direct
comparisons with PyTorch.
"""
import dataclasses

import numpy as np
import pytest
from conftest import assert_conv_close, conv_problems, make_array, n_terms_of
from hypothesis import given, settings
from hypothesis import strategies as st

import fastconv
from fastconv import reference

# The explicit algorithms: 'auto' runs one of them, bit for bit (tests/test_conv.py::
# test_auto_runs_one_of_the_algorithms, its hypothesis test, and the rule in
# tests/test_winograd.py::test_auto_rule), so a grid of 'auto' would repeat a grid of
# theirs. Winograd applies to 3-tap stride-1 problems only: tests/test_winograd.py runs
# it on the applicable cases of these grids and checks its refusal on the others.
ALGORITHMS = ("direct", "im2col")
assert set(ALGORITHMS) == set(fastconv.ALGORITHMS) - {"auto", "winograd"}
CONV = {1: fastconv.conv1d, 2: fastconv.conv2d, 3: fastconv.conv3d}
REF = {1: reference.conv1d, 2: reference.conv2d, 3: reference.conv3d}


@dataclasses.dataclass(frozen=True)
class Case:
    nd: int
    n: int
    c_in: int
    c_out: int
    spatial: tuple
    kernel: tuple
    stride: object = 1
    padding: object = 0
    dilation: object = 1
    groups: int = 1
    padding_mode: str = "zeros"
    bias: bool = True
    unbatched: bool = False

    @property
    def id(self):
        parts = [f"{self.nd}d", f"n{'U' if self.unbatched else self.n}",
                 f"c{self.c_in}-{self.c_out}", "x".join(map(str, self.spatial)),
                 "k" + "x".join(map(str, self.kernel))]
        if self.stride != 1:
            parts.append(f"s{self.stride}")
        if self.padding != 0:
            parts.append(f"p{self.padding}")
        if self.dilation != 1:
            parts.append(f"d{self.dilation}")
        if self.groups != 1:
            parts.append(f"g{self.groups}")
        if self.padding_mode != "zeros":
            parts.append(self.padding_mode)
        if not self.bias:
            parts.append("nobias")
        return "-".join(parts).replace(" ", "")

    def kwargs(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups, padding_mode=self.padding_mode)

    def arrays(self, rng, x_dtype=np.float32, w_dtype=None, b_dtype=None):
        w_dtype = x_dtype if w_dtype is None else w_dtype
        b_dtype = w_dtype if b_dtype is None else b_dtype
        x_shape = (() if self.unbatched else (self.n,)) + (self.c_in,) + self.spatial
        x = make_array(rng, x_shape, x_dtype)
        w = make_array(rng, (self.c_out, self.c_in // self.groups) + self.kernel, w_dtype)
        b = make_array(rng, (self.c_out,), b_dtype) if self.bias else None
        return x, w, b


def _per_dim(values, nd):
    return tuple(values[:nd])


def _grid():
    bases = {
        1: Case(1, 3, 3, 5, (97,), (3,)),
        2: Case(2, 2, 3, 5, (13, 17), (3, 3)),
        3: Case(3, 2, 3, 5, (5, 7, 9), (3, 3, 3)),
    }
    cases = []
    for nd, base in bases.items():
        k = lambda v: (v,) * nd  # noqa: E731
        r = dataclasses.replace
        other = {1: (101,), 2: (31, 29), 3: (7, 6, 5)}[nd]
        third = {1: (127,), 2: (16, 9), 3: (4, 9, 6)}[nd]
        variants = [
            base,
            # kernel sizes, including 1 and even sizes
            r(base, kernel=k(1), c_in=7, c_out=17),
            r(base, kernel=k(2)),
            r(base, kernel=k(4), spatial=other, padding=1),
            r(base, kernel=_per_dim((1, 4, 2), nd), spatial=third),
            r(base, kernel=k(5), spatial=other, padding=2) if nd < 3 else
            r(base, kernel=(2, 5, 3), spatial=(6, 7, 5), padding=(1, 2, 1)),
            # strides
            r(base, stride=2),
            r(base, stride=3, spatial=other),
            r(base, stride=_per_dim((2, 1, 3), nd), padding=1),
            r(base, stride=_per_dim((3, 2, 1), nd), spatial=third, kernel=k(2)),
            # stride 4 along a row long enough for im2col's vector gather, its
            # tail and a 512-column chunk boundary (with padding and dilation)
            r(base, stride=4, kernel=k(7), padding=3,
              spatial={1: (2111,), 2: (3, 1111), 3: (2, 2, 603)}[nd]),
            r(base, stride=_per_dim((1, 4, 4), nd)[-nd:], dilation=2, kernel=k(3),
              padding=_per_dim(((1, 5), (0, 2), (2, 1)), nd),
              spatial={1: (1233,), 2: (5, 333), 3: (3, 4, 211)}[nd]),
            # dilations
            r(base, dilation=2, padding=2),
            r(base, dilation=_per_dim((1, 2, 2), nd), padding=_per_dim((1, 2, 2), nd)),
            r(base, dilation=_per_dim((2, 3, 1), nd), stride=2, padding=3,
              spatial=other),
            # padding forms
            r(base, padding=1),
            r(base, padding=2, stride=2),
            r(base, padding=_per_dim((0, 2, 1), nd)),
            r(base, padding=_per_dim(((2, 0), (0, 1), (1, 3)), nd)),
            r(base, padding=_per_dim(((0, 3), (2, 2), (3, 0)), nd), stride=2),
            r(base, padding="valid"),
            r(base, padding="same"),
            r(base, padding="same", stride=2),
            r(base, padding="same", stride=3, spatial=other),
            r(base, padding="same", kernel=k(2)),
            r(base, padding="same", kernel=k(4), spatial=other),
            r(base, padding="same", kernel=k(2), stride=2, dilation=2),
            r(base, padding="same", dilation=_per_dim((2, 1, 3), nd)),
            # groups
            r(base, c_in=6, c_out=10, groups=2),
            r(base, c_in=9, c_out=33, groups=3, padding=1),
            r(base, c_in=7, c_out=7, groups=7, padding=1),  # depthwise
            r(base, c_in=7, c_out=14, groups=7, stride=2),  # depthwise, multiplier 2
            r(base, c_in=8, c_out=8, groups=8, padding="same", kernel=k(2)),
            # channel counts that are not multiples of any blocking
            r(base, c_in=19, c_out=17),
            r(base, c_in=7, c_out=33, padding=1),
            r(base, c_in=3, c_out=65, kernel=k(2)),
            # batch sizes, unbatched, bias
            r(base, n=0),
            r(base, n=1, padding=1),
            r(base, unbatched=True, padding=1),
            r(base, unbatched=True, groups=3, c_in=3, c_out=6, stride=2),
            r(base, bias=False),
            r(base, bias=False, c_in=4, c_out=4, groups=2, padding="same"),
        ]
        # Padding modes crossed with padding forms.
        for mode in ("reflect", "replicate", "circular"):
            variants += [
                r(base, padding_mode=mode, padding=1),
                r(base, padding_mode=mode, padding=2, stride=2, bias=False),
                r(base, padding_mode=mode, padding=_per_dim((1, 2, 0), nd)),
                r(base, padding_mode=mode, padding=_per_dim(((2, 0), (1, 3), (0, 2)), nd)),
                r(base, padding_mode=mode, padding="same", kernel=k(4), spatial=other),
                r(base, padding_mode=mode, padding="same", stride=2, dilation=2),
                r(base, padding_mode=mode, padding=1, c_in=6, c_out=6, groups=6),
            ]
        variants.append(r(base, padding_mode="circular", padding=min(base.spatial)))
        cases += variants
    return cases


GRID = _grid()


def _run(case, algorithm, x, w, b):
    y = CONV[case.nd](x, w, b, algorithm=algorithm, **case.kwargs())
    expected = REF[case.nd](x, w, b, **case.kwargs())
    return y, expected


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("case", GRID, ids=lambda c: c.id)
def test_grid(case, algorithm, dtype, rng):
    x, w, b = case.arrays(rng, dtype)
    y, expected = _run(case, algorithm, x, w, b)
    assert_conv_close(y, expected, dtype, n_terms_of(w, b), err_msg=f"{case} {algorithm}")


def test_grid_is_well_formed():
    ids = [c.id for c in GRID]
    assert len(ids) == len(set(ids)), "duplicate cases in the grid"
    for case in GRID:
        # Every case must be a valid problem for the reference.
        shape = reference.output_shape(
            ((case.n,) if not case.unbatched else ()) + (case.c_in,) + case.spatial,
            (case.c_out, case.c_in // case.groups) + case.kernel,
            case.stride, case.padding, case.dilation)
        assert min(shape[-case.nd:]) >= 1


# --------------------------------------------------------------------------
# Realistic layers: large enough to hit the blocked paths; channel counts and
# spatial sizes above 64 and not multiples of 8 or 16.
# --------------------------------------------------------------------------
LAYERS = [
    Case(2, 2, 64, 64, (28, 28), (3, 3), padding=1),
    Case(2, 1, 19, 65, (67, 71), (3, 3), padding="same"),
    Case(2, 1, 64, 130, (15, 15), (1, 1), bias=False),
    # 1x1 read in place by the GEMM: several column blocks, a short last
    # panel, more than one group, and K above a packing pass.
    Case(2, 2, 300, 40, (19, 17), (1, 1), groups=2),
    # im2col in several passes over the input channels (K = 360 and 720),
    # with stride 2 (vector deinterleave) over an odd width.
    Case(2, 1, 40, 24, (31, 45), (3, 3), stride=2, padding=1),
    Case(2, 2, 80, 33, (9, 11), (3, 3), padding=1, groups=1),
    Case(2, 3, 32, 72, (33, 35), (3, 3), stride=2, dilation=2, padding=2),
    Case(2, 1, 96, 96, (30, 30), (3, 3), padding=1, groups=96),
    Case(2, 1, 48, 96, (29, 29), (3, 3), stride=2, padding=1, groups=48),
    Case(2, 1, 40, 40, (37, 23), (5, 5), padding=2, padding_mode="reflect"),
    Case(1, 2, 33, 65, (1001,), (5,), padding=2),
    Case(1, 4, 64, 64, (517,), (3,), padding=1, groups=4, padding_mode="circular"),
    Case(3, 1, 16, 17, (9, 13, 15), (3, 3, 3), padding=1),
    Case(3, 2, 8, 24, (7, 19, 21), (3, 3, 3), stride=(1, 2, 2), padding="same",
         padding_mode="replicate"),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("case", LAYERS, ids=lambda c: c.id)
def test_realistic_layers(case, algorithm, dtype, rng):
    x, w, b = case.arrays(rng, dtype)
    y, expected = _run(case, algorithm, x, w, b)
    assert_conv_close(y, expected, dtype, n_terms_of(w, b), err_msg=f"{case} {algorithm}")


@pytest.mark.parametrize("case, chosen", [(LAYERS[0], "winograd"), (LAYERS[2], "im2col"),
                                          (LAYERS[7], "direct")], ids=lambda c: getattr(c, "id", c))
def test_auto_runs_one_of_the_algorithms(case, chosen, rng):
    # 'auto' is not an algorithm of its own: on each of these layers it gives
    # the bits of the one explicit algorithm it chooses (each explicit one is
    # compared with the reference above, and Winograd in tests/test_winograd.py).
    x, w, b = case.arrays(rng, np.float32)
    auto = CONV[case.nd](x, w, b, **case.kwargs())
    explicit = {a: CONV[case.nd](x, w, b, algorithm=a, **case.kwargs())
                for a in ALGORITHMS + ("winograd",)
                if (a != "winograd" or case.kernel == (3,) * case.nd and case.stride == 1)}
    same = [a for a, y in explicit.items() if np.array_equal(auto, y)]
    # (direct and im2col may agree bitwise, e.g. on a depthwise layer: the
    # same products summed in the same order)
    assert chosen in same and not (chosen == "winograd" and len(same) > 1), same
    terms = n_terms_of(w, b) * (16 if chosen == "winograd" else 1)
    assert_conv_close(auto, REF[case.nd](x, w, b, **case.kwargs()), np.float32, terms)


# --------------------------------------------------------------------------
# dtypes
# --------------------------------------------------------------------------
DTYPE_CASES = [
    # x, weight, bias, expected result dtype
    (np.float32, np.float32, np.float32, np.float32),
    (np.float64, np.float64, np.float64, np.float64),
    (np.float32, np.float64, np.float64, np.float64),
    (np.float64, np.float32, np.float32, np.float64),
    (np.float32, np.float32, np.float64, np.float64),
    (np.float32, np.float64, None, np.float64),
    (np.int32, np.int32, np.int32, np.float64),
    (np.int64, np.int64, None, np.float64),
    (np.bool_, np.bool_, None, np.float64),
    (np.int32, np.float64, np.float64, np.float64),
    (np.int64, np.float32, np.float32, np.float64),
    (np.int32, np.float32, None, np.float64),
    (np.bool_, np.float64, np.float64, np.float64),
    (np.float64, np.int64, np.int64, np.float64),
    (np.float64, np.bool_, None, np.float64),
]

DTYPE_SHAPES = [
    Case(1, 2, 3, 5, (23,), (3,), padding=1),
    Case(2, 2, 4, 6, (9, 11), (3, 2), stride=2, groups=2, padding="same"),
    Case(3, 1, 3, 4, (5, 6, 7), (2, 3, 3), padding_mode="reflect", padding=1),
]


@pytest.mark.parametrize("case", DTYPE_SHAPES, ids=lambda c: c.id)
@pytest.mark.parametrize("dtypes", DTYPE_CASES,
                         ids=lambda d: "-".join(np.dtype(t).name if t else "none" for t in d))
def test_dtypes(dtypes, case, rng):
    # Every array is converted to the computation dtype before an algorithm
    # is chosen (the kernels see float32 or float64 only, as in test_grid).
    algorithm = "auto"
    x_dtype, w_dtype, b_dtype, expected_dtype = dtypes
    case = dataclasses.replace(case, bias=b_dtype is not None)
    x, w, b = case.arrays(rng, x_dtype, w_dtype, b_dtype)
    y, expected = _run(case, algorithm, x, w, b)
    assert y.dtype == np.dtype(expected_dtype), (
        f"{x.dtype} x {w.dtype} (+ {None if b is None else b.dtype}) gave {y.dtype}")
    assert_conv_close(y, expected, expected_dtype, n_terms_of(w, b))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_bool_with_float32_weight_is_a_float_result(algorithm, rng):
    # The result dtype must be a supported float dtype; values match the reference.
    case = DTYPE_SHAPES[1]
    x, w, b = case.arrays(rng, np.bool_, np.float32, np.float32)
    y, expected = _run(case, algorithm, x, w, b)
    assert y.dtype in (np.float32, np.float64)
    assert_conv_close(y, expected, y.dtype, n_terms_of(w, b))


def test_python_lists_are_accepted():
    x = [[1.0, 2.0, 3.0, 4.0]]
    w = [[[1.0, -1.0]]]
    y = fastconv.conv1d(x, w)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [[-1.0, -1.0, -1.0]])


# --------------------------------------------------------------------------
# Exact small results (all algorithms): integer data is summed exactly.
# --------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_integer_valued_result(algorithm, dtype, rng):
    x = rng.integers(-4, 5, size=(2, 5, 11, 13)).astype(dtype)
    w = rng.integers(-4, 5, size=(7, 5, 3, 3)).astype(dtype)
    b = rng.integers(-4, 5, size=7).astype(dtype)
    y = fastconv.conv2d(x, w, b, padding=1, algorithm=algorithm)
    # Every partial sum is an integer below 2**24: exact in float32 too.
    np.testing.assert_array_equal(y, reference.conv2d(x, w, b, padding=1).astype(dtype))


# --------------------------------------------------------------------------
# Hypothesis
# --------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ("auto",) + ALGORITHMS)
@settings(max_examples=60, deadline=None)
@given(problem=conv_problems(), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**32 - 1))
def test_hypothesis(algorithm, problem, dtype, seed):
    rng = np.random.default_rng(seed)
    nd = problem["nd"]
    lead = () if problem["batch"] is None else (problem["batch"],)
    groups = problem["kwargs"]["groups"]
    x = make_array(rng, lead + (problem["c_in"],) + problem["spatial"], dtype)
    w = make_array(rng, (problem["c_out"], problem["c_in"] // groups) + problem["kernel"], dtype)
    b = make_array(rng, (problem["c_out"],), dtype) if problem["bias"] else None
    y = CONV[nd](x, w, b, algorithm=algorithm, **problem["kwargs"])
    expected = REF[nd](x, w, b, **problem["kwargs"])
    assert_conv_close(y, expected, dtype, n_terms_of(w, b), err_msg=str(problem))


# --------------------------------------------------------------------------
# PyTorch, directly
# --------------------------------------------------------------------------
TORCH_CASES = [
    Case(1, 2, 6, 10, (101,), (5,), stride=2, padding=3, dilation=2, groups=2),
    Case(2, 2, 16, 24, (31, 29), (3, 3), padding=1),
    Case(2, 1, 12, 12, (17, 13), (3, 5), stride=(2, 1), padding=(1, 2), groups=12),
    Case(2, 1, 8, 8, (13, 17), (3, 3), padding=1, padding_mode="reflect"),
    Case(3, 1, 4, 6, (5, 7, 9), (3, 3, 3), padding=1, dilation=(1, 1, 2), groups=2),
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("case", TORCH_CASES, ids=lambda c: c.id)
def test_against_torch(case, algorithm, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, w, b = case.arrays(rng, np.float32)
    y = CONV[case.nd](x, w, b, algorithm=algorithm, **case.kwargs())
    tconv = (F.conv1d, F.conv2d, F.conv3d)[case.nd - 1]
    tx, tw, tb = (torch.from_numpy(a.astype(np.float64)) for a in (x, w, b))
    if case.padding_mode == "zeros":
        expected = tconv(tx, tw, tb, stride=case.stride, padding=case.padding,
                         dilation=case.dilation, groups=case.groups)
    else:
        p = case.padding
        pads = [p] * (2 * case.nd)
        txp = F.pad(tx, pads, mode=case.padding_mode)
        expected = tconv(txp, tw, tb, stride=case.stride, dilation=case.dilation,
                         groups=case.groups)
    assert_conv_close(y, expected.numpy(), np.float32, n_terms_of(w, b))
