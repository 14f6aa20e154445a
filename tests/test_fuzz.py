"""Differential fuzzing: every public function against ``fastconv.reference``.

Hypothesis draws random problems (shapes, strides, paddings of every form
including asymmetric and "same", dilations, groups, padding modes,
boundaries), dtypes, memory layouts of the inputs and of ``out=``
(``tests/public_api.py``'s ``MEMORY_LAYOUTS``: Fortran order, negative
strides, steps, the other byte order, misaligned data), channels-last
layouts and algorithms, and compares each call with the slow float64
definition. Gradients without a reference of their own are checked with
the adjoint identity of the reference forward pass: the convolutions are
linear in each argument, so ``<grad_output, f(.., v, ..)> == <gradient, v>``
for any ``v``.

The number of examples is a Hypothesis profile (``tests/conftest.py``):
``fastconv-ci``, the default, a fixed small budget with derandomized
examples; ``fastconv-fuzz`` a long run on demand::

    python -m pytest tests/test_fuzz.py --hypothesis-profile=fastconv-fuzz
"""
import numpy as np
import pytest
from conftest import assert_conv_close, conv_problems, make_array
from hypothesis import assume, given
from hypothesis import strategies as st
from public_api import MEMORY_LAYOUTS, relayout

import fastconv
from fastconv import reference
from fastconv._args import winograd_reason

DTYPES = st.sampled_from([np.float32, np.float64])
LAYOUT = st.sampled_from(MEMORY_LAYOUTS)
SEED = st.integers(0, 2 ** 32 - 1)
FFT_REL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def _close_fft(actual, expected, dtype):
    dtype = np.dtype(dtype)
    assert actual.dtype == dtype and actual.shape == expected.shape
    scale = max(float(np.max(np.abs(expected), initial=0)), 1.0)
    assert float(np.max(np.abs(actual - expected), initial=0)) <= FFT_REL[dtype] * scale


def _out(draw, shape, dtype):
    """None, or an ``out`` of ``shape`` and ``dtype`` in a drawn layout."""
    if not draw(st.booleans()):
        return None
    return relayout(np.full(shape, np.nan, dtype), draw(LAYOUT))


def _check_call(call, expected, dtype, n_terms, out=None, fft=False):
    y = call()
    if out is not None:
        assert y is out
        y = np.array(out, dtype=np.dtype(dtype))
    if fft:
        _close_fft(y, expected, dtype)
    else:
        assert_conv_close(y, expected, dtype, n_terms)


def _winograd_ok(kernel, stride, algorithm):
    return algorithm != "winograd" or winograd_reason(kernel, stride) is None


# --------------------------------------------------------------------------
# conv1d / conv2d / conv3d and their plans
# --------------------------------------------------------------------------
@given(data=st.data(), problem=conv_problems(), dtype=DTYPES, seed=SEED,
       algorithm=st.sampled_from(fastconv.ALGORITHMS), channels_last=st.booleans(),
       planned=st.booleans())
def test_conv(data, problem, dtype, seed, algorithm, channels_last, planned):
    rng = np.random.default_rng(seed)
    nd, kw = problem["nd"], dict(problem["kwargs"])
    lead = () if problem["batch"] is None else (problem["batch"],)
    x = make_array(rng, lead + (problem["c_in"],) + problem["spatial"], dtype)
    w = make_array(rng, (problem["c_out"], problem["c_in"] // kw["groups"]) + problem["kernel"],
                   dtype)
    b = make_array(rng, (problem["c_out"],), dtype) if problem["bias"] else None
    expected = getattr(reference, f"conv{nd}d")(x, w, b, **kw)
    layout = "channels_last" if channels_last else "channels_first"
    move = (lambda a: np.moveaxis(a, -(nd + 1), -1)) if channels_last else (lambda a: a)
    xin = move(relayout(x, data.draw(LAYOUT)))
    win = relayout(w, data.draw(LAYOUT))
    if not _winograd_ok(problem["kernel"], kw["stride"], algorithm):
        with pytest.raises(ValueError, match="winograd"):
            getattr(fastconv, f"conv{nd}d")(xin, win, b, algorithm=algorithm, layout=layout,
                                            **kw)
        return
    out = _out(data.draw, move(np.empty(expected.shape)).shape, dtype)
    if planned:
        plan = getattr(fastconv, f"plan_conv{nd}d")(win, xin.shape, b, algorithm=algorithm,
                                                    layout=layout, **kw)
        y = plan(xin, out=out)
    else:
        y = getattr(fastconv, f"conv{nd}d")(xin, win, b, algorithm=algorithm, layout=layout,
                                            out=out, **kw)
    assert out is None or y is out
    y = np.moveaxis(np.asarray(y, dtype=dtype), -1, -(nd + 1)) if channels_last else y
    assert_conv_close(np.asarray(y, dtype=dtype), expected, dtype,
                      w[0].size + (b is not None), err_msg=str(problem))


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("algorithm", ["direct", "im2col"])
def test_pointwise_with_padding_after_only(nd, algorithm):
    """A 1x1 kernel, stride 1, padded after only: the output is larger than the
    input (im2col used to take its unpacked pointwise path, which reads the
    input as the unfolded matrix, and wrote uninitialised memory)."""
    rng = np.random.default_rng(3)
    spatial = (7, 5, 3)[:nd]
    x = rng.standard_normal((2, 4) + spatial).astype(np.float32)
    w = rng.standard_normal((6, 2) + (1,) * nd).astype(np.float32)
    padding = ((0, 1), (0, 2), (0, 1))[:nd]
    y = getattr(fastconv, f"conv{nd}d")(x, w, padding=padding, groups=2, algorithm=algorithm)
    assert_conv_close(y, getattr(reference, f"conv{nd}d")(x, w, padding=padding, groups=2),
                      np.float32, 2)


# --------------------------------------------------------------------------
# transposed convolutions
# --------------------------------------------------------------------------
@st.composite
def transposed_problems(draw):
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 3))
    cog = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    pairs = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(nd))
    padding = draw(st.sampled_from([pairs, tuple(p[0] for p in pairs), pairs[0][0]]))
    pads = [p if isinstance(p, tuple) else (p, p) for p in
            (padding if isinstance(padding, tuple) else (padding,) * nd)]
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    spatial = []
    for k, s, d, (pb, pa), op in zip(kernel, stride, dilation, pads, output_padding):
        size = draw(st.integers(1, 7 if nd < 3 else 4))
        while (size - 1) * s - pb - pa + d * (k - 1) + op + 1 <= 0:
            size += 1
        spatial.append(size)
    batch = draw(st.one_of(st.none(), st.integers(0, 2)))
    return dict(nd=nd, batch=batch, c_in=c_in, cog=cog, spatial=tuple(spatial), kernel=kernel,
                bias=draw(st.booleans()),
                kwargs=dict(stride=stride, padding=padding, output_padding=output_padding,
                            groups=groups, dilation=dilation))


@given(data=st.data(), problem=transposed_problems(), dtype=DTYPES, seed=SEED,
       algorithm=st.sampled_from(fastconv.ALGORITHMS))
def test_conv_transpose(data, problem, dtype, seed, algorithm):
    rng = np.random.default_rng(seed)
    nd, kw = problem["nd"], problem["kwargs"]
    lead = () if problem["batch"] is None else (problem["batch"],)
    x = make_array(rng, lead + (problem["c_in"],) + problem["spatial"], dtype)
    w = make_array(rng, (problem["c_in"], problem["cog"]) + problem["kernel"], dtype)
    b = make_array(rng, (problem["cog"] * kw["groups"],), dtype) if problem["bias"] else None
    fn = getattr(fastconv, f"conv_transpose{nd}d")
    xin, win = relayout(x, data.draw(LAYOUT)), relayout(w, data.draw(LAYOUT))
    if not _winograd_ok(problem["kernel"], kw["stride"], algorithm):
        with pytest.raises(ValueError, match="winograd"):
            fn(xin, win, b, algorithm=algorithm, **kw)
        return
    expected = getattr(reference, f"conv_transpose{nd}d")(x, w, b, **kw)
    out = _out(data.draw, expected.shape, dtype)
    n_terms = (problem["c_in"] // kw["groups"]) * int(np.prod(problem["kernel"]))
    _check_call(lambda: fn(xin, win, b, algorithm=algorithm, out=out, **kw), expected, dtype,
                n_terms + 1, out)


# --------------------------------------------------------------------------
# depthwise, separable, spatially separable
# --------------------------------------------------------------------------
def _problem2d(draw, max_size=9):
    problem = draw(conv_problems(max_size=max_size).filter(lambda p: p["nd"] == 2))
    return problem


@given(data=st.data(), dtype=DTYPES, seed=SEED, algorithm=st.sampled_from(fastconv.ALGORITHMS),
       m=st.integers(1, 3), separable=st.booleans())
def test_depthwise_and_separable(data, dtype, seed, algorithm, m, separable):
    problem = _problem2d(data.draw)
    rng = np.random.default_rng(seed)
    kw = {k: v for k, v in problem["kwargs"].items() if k != "groups"}
    c = problem["c_in"]
    lead = () if problem["batch"] is None else (problem["batch"],)
    x = make_array(rng, lead + (c,) + problem["spatial"], dtype)
    dw = make_array(rng, (c * m, 1) + problem["kernel"], dtype)
    xin = relayout(x, data.draw(LAYOUT))
    if not _winograd_ok(problem["kernel"], kw["stride"], algorithm):
        assume(False)
    if separable:
        c_out = data.draw(st.integers(1, 5))
        pw = make_array(rng, (c_out, c * m, 1, 1), dtype)
        b = make_array(rng, (c_out,), dtype) if problem["bias"] else None
        expected = reference.separable_conv2d(x, dw, pw, b, **kw)
        out = _out(data.draw, expected.shape, dtype)
        n_terms = int(np.prod(problem["kernel"])) * c * m + 1
        _check_call(lambda: fastconv.separable_conv2d(xin, dw, relayout(pw, data.draw(LAYOUT)),
                                                      b, algorithm=algorithm, out=out, **kw),
                    expected, dtype, n_terms, out)
    else:
        b = make_array(rng, (c * m,), dtype) if problem["bias"] else None
        expected = reference.depthwise_conv2d(x, dw, b, **kw)
        out = _out(data.draw, expected.shape, dtype)
        _check_call(lambda: fastconv.depthwise_conv2d(xin, relayout(dw, data.draw(LAYOUT)), b,
                                                      algorithm=algorithm, out=out, **kw),
                    expected, dtype, dw[0].size + 1, out)


@given(data=st.data(), dtype=DTYPES, seed=SEED,
       algorithm=st.sampled_from(("auto", "direct", "im2col")), c_mid_g=st.integers(1, 3))
def test_spatially_separable(data, dtype, seed, algorithm, c_mid_g):
    problem = _problem2d(data.draw)
    rng = np.random.default_rng(seed)
    kw = dict(problem["kwargs"])
    g = kw["groups"]
    lead = () if problem["batch"] is None else (problem["batch"],)
    x = make_array(rng, lead + (problem["c_in"],) + problem["spatial"], dtype)
    kh, kwid = problem["kernel"]
    col = make_array(rng, (g * c_mid_g, problem["c_in"] // g, kh, 1), dtype)
    row = make_array(rng, (problem["c_out"], c_mid_g, 1, kwid), dtype)
    b = make_array(rng, (problem["c_out"],), dtype) if problem["bias"] else None
    expected = reference.spatially_separable_conv2d(x, col, row, b, **kw)
    out = _out(data.draw, expected.shape, dtype)
    n_terms = (problem["c_in"] // g) * kh * c_mid_g * kwid + 1
    _check_call(lambda: fastconv.spatially_separable_conv2d(
        relayout(x, data.draw(LAYOUT)), col, row, b, algorithm=algorithm, out=out, **kw),
        expected, dtype, n_terms, out)


# --------------------------------------------------------------------------
# octave
# --------------------------------------------------------------------------
@st.composite
def octave_problems(draw):
    stride = draw(st.sampled_from([1, 2]))
    unit = 4 if stride == 2 else 2
    h, w = unit * draw(st.integers(1, 4)), unit * draw(st.integers(1, 4))
    k = draw(st.sampled_from([1, 3, 5]))
    padding = draw(st.sampled_from(["same", (k - 1) // 2]))
    low_in, low_out = draw(st.booleans()), draw(st.booleans())
    return dict(stride=stride, hw=(h, w), k=k, padding=padding, low_in=low_in, low_out=low_out,
                c=[draw(st.integers(1, 3)) for _ in range(4)], batch=draw(st.integers(0, 2)))


@given(problem=octave_problems(), dtype=DTYPES, seed=SEED,
       algorithm=st.sampled_from(("auto", "direct", "im2col")), alpha=st.floats(0, 1))
def test_octave(problem, dtype, seed, algorithm, alpha):
    rng = np.random.default_rng(seed)
    c_hi, c_li, c_ho, c_lo = problem["c"]
    n, (h, w), k = problem["batch"], problem["hw"], problem["k"]
    xh = make_array(rng, (n, c_hi, h, w), dtype)
    xl = make_array(rng, (n, c_li, h // 2, w // 2), dtype) if problem["low_in"] else None
    lo = problem["low_out"]
    whh = make_array(rng, (c_ho, c_hi, k, k), dtype)
    whl = make_array(rng, (c_lo, c_hi, k, k), dtype) if lo else None
    wlh = make_array(rng, (c_ho, c_li, k, k), dtype) if xl is not None else None
    wll = make_array(rng, (c_lo, c_li, k, k), dtype) if lo and xl is not None else None
    bh = make_array(rng, (c_ho,), dtype)
    bl = make_array(rng, (c_lo,), dtype) if lo else None
    kw = dict(stride=problem["stride"], padding=problem["padding"])
    got = fastconv.octave_conv2d(relayout(xh, "reversed"), xl, whh, whl, wlh, wll, bh, bl,
                                 algorithm=algorithm, **kw)
    expected = reference.octave_conv2d(xh, xl, whh, whl, wlh, wll, bh, bl, **kw)
    n_terms = (c_hi + c_li) * k * k + 1
    for g, e in zip(got, expected):
        assert (g is None) == (e is None)
        if e is not None:
            assert_conv_close(g, e, dtype, n_terms)
    # split / merge round trip against the reference
    x = make_array(rng, (n, c_hi + c_li, h, w), dtype)
    for g, e in zip(fastconv.octave_split(relayout(x, "fortran"), alpha),
                    reference.octave_split(x, alpha)):
        assert (g is None) == (e is None)
        if e is not None:
            assert_conv_close(g, e, dtype, 4)
    if xl is not None:
        assert_conv_close(fastconv.octave_merge(xh, relayout(xl, "strided")),
                          reference.octave_merge(xh, xl), dtype, 1)


# --------------------------------------------------------------------------
# correlate / convolve, separate
# --------------------------------------------------------------------------
@st.composite
def signal_problems(draw):
    nd = draw(st.integers(1, 3))
    top = {1: 40, 2: 12, 3: 6}[nd]
    a = tuple(draw(st.integers(1, top)) for _ in range(nd))
    b = tuple(draw(st.integers(1, max(2, top // 2))) for _ in range(nd))
    mode = draw(st.sampled_from(["full", "same", "valid"]))
    if mode == "valid":      # one input at least as large as the other in every dim
        b = tuple(min(i, j) for i, j in zip(a, b))
    return dict(a=a, b=b, mode=mode,
                boundary=draw(st.sampled_from(["fill", "reflect", "symmetric", "mirror",
                                               "nearest", "wrap"])),
                fillvalue=draw(st.sampled_from([0.0, 1.5])),
                algorithm=draw(st.sampled_from(["auto", "direct", "fft", "winograd"])),
                convolve=draw(st.booleans()))


@given(data=st.data(), problem=signal_problems(), dtype=DTYPES, seed=SEED)
def test_correlate_and_convolve(data, problem, dtype, seed):
    rng = np.random.default_rng(seed)
    a, b = make_array(rng, problem["a"], dtype), make_array(rng, problem["b"], dtype)
    name = "convolve" if problem["convolve"] else "correlate"
    kw = dict(mode=problem["mode"], boundary=problem["boundary"],
              fillvalue=problem["fillvalue"])
    algorithm = problem["algorithm"]
    ain, bin_ = relayout(a, data.draw(LAYOUT)), relayout(b, data.draw(LAYOUT))
    fn = getattr(fastconv, name)
    if algorithm == "winograd" and (a.ndim != 2 or winograd_reason(b.shape, (1, 1))):
        with pytest.raises(ValueError, match="winograd"):
            fn(ain, bin_, algorithm=algorithm, **kw)
        return
    expected = getattr(reference, name)(a, b, **kw)
    out = _out(data.draw, expected.shape, dtype)
    _check_call(lambda: fn(ain, bin_, algorithm=algorithm, out=out, **kw), expected, dtype,
                b.size, out, fft=algorithm in ("fft", "auto"))


@given(u=st.lists(st.integers(-4, 4) | st.floats(-2, 2), min_size=1, max_size=7),
       v=st.lists(st.floats(-2, 2), min_size=1, max_size=7), dtype=DTYPES)
def test_separate(u, v, dtype):
    kernel = np.outer(np.array(u, np.float64), np.array(v, np.float64)).astype(dtype)
    assume(np.max(np.abs(kernel)) > 1e-3)
    col, row = fastconv.separate(relayout(kernel, "reversed"), rtol=1e-4)
    assert col.dtype == row.dtype == np.dtype(dtype)
    scale = float(np.max(np.abs(kernel)))
    rel = 1e-5 if dtype == np.float32 else 1e-12
    assert np.max(np.abs(np.outer(col, row) - kernel)) <= rel * 10 * scale


# --------------------------------------------------------------------------
# gradients
# --------------------------------------------------------------------------
def _weight(algorithm):
    """A weight gradient is one GEMM: it accepts 'auto' and 'im2col' only."""
    return algorithm if algorithm in fastconv.grad.WEIGHT_ALGORITHMS else "auto"


@given(data=st.data(), problem=conv_problems(max_size=9), dtype=DTYPES, seed=SEED,
       algorithm=st.sampled_from(("auto", "direct", "im2col")))
def test_conv_gradients(data, problem, dtype, seed, algorithm):
    rng = np.random.default_rng(seed)
    nd, kw = problem["nd"], dict(problem["kwargs"])
    lead = () if problem["batch"] is None else (problem["batch"],)
    x = make_array(rng, lead + (problem["c_in"],) + problem["spatial"], dtype)
    w = make_array(rng, (problem["c_out"], problem["c_in"] // kw["groups"]) + problem["kernel"],
                   dtype)
    gy = make_array(rng, getattr(reference, f"conv{nd}d")(x, w, **kw).shape, dtype)
    gyin = relayout(gy, data.draw(LAYOUT))
    gx = getattr(fastconv.grad, f"conv{nd}d_input")(x.shape, relayout(w, data.draw(LAYOUT)),
                                                    gyin, algorithm=algorithm, **kw)
    gw = getattr(fastconv.grad, f"conv{nd}d_weight")(relayout(x, data.draw(LAYOUT)), w.shape,
                                                     gyin, algorithm=_weight(algorithm), **kw)
    ref = reference.grad
    per_group = problem["c_out"] // kw["groups"]
    assert_conv_close(gx, getattr(ref, f"conv{nd}d_input")(x.shape, w, gy, **kw), dtype,
                      per_group * int(np.prod(problem["kernel"])))
    assert_conv_close(gw, getattr(ref, f"conv{nd}d_weight")(x, w.shape, gy, **kw), dtype,
                      max(gy.size // problem["c_out"], 1))
    if gy.ndim == nd + 2 and gy.size:
        assert_conv_close(fastconv.grad.bias(gyin), gy.astype(np.float64).sum(
            axis=(0,) + tuple(range(2, gy.ndim))), dtype, gy.size // gy.shape[1])


@given(data=st.data(), problem=transposed_problems(), dtype=DTYPES, seed=SEED,
       algorithm=st.sampled_from(("auto", "direct", "im2col")))
def test_conv_transpose_gradients(data, problem, dtype, seed, algorithm):
    rng = np.random.default_rng(seed)
    nd, kw = problem["nd"], problem["kwargs"]
    lead = () if problem["batch"] is None else (problem["batch"],)
    x = make_array(rng, lead + (problem["c_in"],) + problem["spatial"], dtype)
    w = make_array(rng, (problem["c_in"], problem["cog"]) + problem["kernel"], dtype)
    gy = make_array(rng, getattr(reference, f"conv_transpose{nd}d")(x, w, **kw).shape, dtype)
    gyin = relayout(gy, data.draw(LAYOUT))
    ref = reference.grad
    gx = getattr(fastconv.grad, f"conv_transpose{nd}d_input")(x.shape, w, gyin,
                                                              algorithm=algorithm, **kw)
    gw = getattr(fastconv.grad, f"conv_transpose{nd}d_weight")(relayout(x, data.draw(LAYOUT)),
                                                               w.shape, gyin,
                                                               algorithm=_weight(algorithm),
                                                               **kw)
    n_terms = problem["cog"] * int(np.prod(problem["kernel"]))
    assert_conv_close(gx, getattr(ref, f"conv_transpose{nd}d_input")(x.shape, w, gy, **kw),
                      dtype, n_terms)
    assert_conv_close(gw, getattr(ref, f"conv_transpose{nd}d_weight")(x, w.shape, gy, **kw),
                      dtype, max(x.size // max(problem["c_in"], 1), 1))


def _adjoint(forward, grads, gy, dtype, rng, names):
    """For each argument: <gy, f(v) - f(0)> == <gradient, v>, ``f`` the reference
    forward pass (without biases) as a function of that argument alone (the
    other paths' contributions cancel in the difference)."""
    tol = 1e-4 if np.dtype(dtype) == np.float32 else 1e-10
    for name in names:
        v = rng.standard_normal(grads[name].shape)
        y, y0 = forward(name, v), forward(name, np.zeros_like(v))
        y = y if isinstance(y, tuple) else (y,)
        y0 = y0 if isinstance(y0, tuple) else (y0,)
        ys = tuple(None if a is None else a - b for a, b in zip(y, y0))
        gys = gy if isinstance(gy, tuple) else (gy,)
        lhs = sum(float(np.sum(a * b)) for a, b in zip(gys, ys) if a is not None)
        rhs = float(np.sum(np.asarray(grads[name], np.float64) * v))
        scale = sum(float(np.sum(np.abs(a) * np.abs(b))) for a, b in zip(gys, ys)
                    if a is not None) + 1.0
        assert abs(lhs - rhs) <= tol * scale, (name, lhs, rhs)


@given(data=st.data(), dtype=DTYPES, seed=SEED,
       algorithm=st.sampled_from(("auto", "direct", "im2col")), m=st.integers(1, 2),
       which=st.sampled_from(["depthwise", "separable", "spatially_separable"]))
def test_variant_gradients_adjoint(data, dtype, seed, algorithm, m, which):
    problem = _problem2d(data.draw, max_size=8)
    rng = np.random.default_rng(seed)
    kw = dict(problem["kwargs"])
    c = problem["c_in"]
    lead = () if problem["batch"] is None else (problem["batch"],)
    x = make_array(rng, lead + (c,) + problem["spatial"], dtype)
    if which == "depthwise":
        kw.pop("groups")
        args = dict(input=x, weight=make_array(rng, (c * m, 1) + problem["kernel"], dtype))
        ref = reference.depthwise_conv2d
    elif which == "separable":
        kw.pop("groups")
        args = dict(input=x, depthwise_weight=make_array(rng, (c * m, 1) + problem["kernel"],
                                                         dtype),
                    pointwise_weight=make_array(rng, (3, c * m, 1, 1), dtype))
        ref = reference.separable_conv2d
    else:
        g = kw["groups"]
        kh, kwid = problem["kernel"]
        args = dict(input=x, column_weight=make_array(rng, (g * m, c // g, kh, 1), dtype),
                    row_weight=make_array(rng, (problem["c_out"], m, 1, kwid), dtype))
        ref = reference.spatially_separable_conv2d
    names = list(args)
    y = ref(*args.values(), None, **kw)
    gy = make_array(rng, y.shape, dtype)
    grads = getattr(fastconv.grad, which + "_conv2d")(
        *[relayout(a, data.draw(LAYOUT)) for a in args.values()], gy, algorithm=algorithm,
        **kw)._asdict()

    def forward(name, v):
        return ref(*[v if n == name else a for n, a in args.items()], None, **kw)

    _adjoint(forward, grads, gy, dtype, rng, names)
    axes = (0, 2, 3) if gy.ndim == 4 else (1, 2)
    assert_conv_close(grads["bias"], gy.astype(np.float64).sum(axis=axes), dtype,
                      max(gy.size // gy.shape[-3], 1))


@given(problem=octave_problems(), dtype=DTYPES, seed=SEED,
       algorithm=st.sampled_from(("auto", "direct", "im2col")))
def test_octave_gradients_adjoint(problem, dtype, seed, algorithm):
    rng = np.random.default_rng(seed)
    c_hi, c_li, c_ho, c_lo = problem["c"]
    n, (h, w), k = problem["batch"], problem["hw"], problem["k"]
    args = dict(x_high=make_array(rng, (n, c_hi, h, w), dtype),
                x_low=make_array(rng, (n, c_li, h // 2, w // 2), dtype)
                if problem["low_in"] else None)
    lo, li = problem["low_out"], problem["low_in"]
    args.update(w_hh=make_array(rng, (c_ho, c_hi, k, k), dtype),
                w_hl=make_array(rng, (c_lo, c_hi, k, k), dtype) if lo else None,
                w_lh=make_array(rng, (c_ho, c_li, k, k), dtype) if li else None,
                w_ll=make_array(rng, (c_lo, c_li, k, k), dtype) if lo and li else None)
    kw = dict(stride=problem["stride"], padding=problem["padding"])
    yh, yl = reference.octave_conv2d(*args.values(), **kw)
    gh = make_array(rng, yh.shape, dtype)
    gl = make_array(rng, yl.shape, dtype) if yl is not None else None
    grads = fastconv.grad.octave_conv2d(*args.values(), gh, gl, algorithm=algorithm, **kw)
    grads = grads._asdict()
    names = [nm for nm, a in args.items() if a is not None]

    def forward(name, v):
        return reference.octave_conv2d(*[v if nm == name else a for nm, a in args.items()],
                                       **kw)

    _adjoint(forward, grads, (gh, gl), dtype, rng, names)
