"""Depthwise, depthwise-separable, spatially separable and octave convolutions.

Every fast variant is compared with its float64 definition in
``fastconv.reference`` (tolerances from conftest), the fused separable kernel
also bitwise with the two unfused calls, and the compiled paths under 1 and 2
threads bitwise.
"""
import numpy as np
import pytest

import fastconv
from fastconv import reference as ref

from conftest import assert_conv_close, make_array

ALGOS = [a for a in fastconv.ALGORITHMS]
DTYPES = (np.float32, np.float64)


def with_algorithms(cases, kernels):
    """``(algorithm, *case)`` for every algorithm that can compute the case:
    Winograd only where F(2, 3) applies to every kernel of the variant at the
    case's stride (the first entry of each case; its refusal is tested in
    tests/test_errors.py)."""
    out = []
    for case in cases:
        stride = case[0]
        for algorithm in ALGOS:
            if algorithm == "winograd" and not all(_winograd_applies(k, stride) for k in kernels):
                continue
            out.append((algorithm,) + tuple(case))
    return out


def _winograd_applies(kernel, stride):
    stride = (stride,) * len(kernel) if isinstance(stride, int) else tuple(stride)
    return all(k in (1, 3) for k in kernel) and 3 in kernel and all(s == 1 for s in stride)


# --------------------------------------------------------------------------
# depthwise
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("algorithm, stride, m, padding, dilation, mode", with_algorithms([
    (1, 1, 1, 1, "zeros"),
    (2, 2, "same", 1, "reflect"),
    ((1, 2), 3, ((2, 0), (1, 3)), (2, 1), "circular"),
], [(3, 3)]))
def test_depthwise_matches_reference(rng, dtype, algorithm, m, stride, padding, dilation, mode):
    x = make_array(rng, (2, 3, 23, 19), dtype)
    w = make_array(rng, (3 * m, 1, 3, 3), dtype)
    b = make_array(rng, (3 * m,), dtype)
    y = fastconv.depthwise_conv2d(x, w, b, stride, padding, dilation, padding_mode=mode,
                                  algorithm=algorithm)
    expected = ref.depthwise_conv2d(x, w, b, stride, padding, dilation, mode)
    assert_conv_close(y, expected, dtype, 10)
    same = fastconv.conv2d(x, w, b, stride, padding, dilation, 3, padding_mode=mode,
                           algorithm=algorithm)
    np.testing.assert_array_equal(y, same)


def test_depthwise_unbatched_ints_and_out(rng):
    x = rng.integers(-3, 4, (4, 11, 13))
    w = rng.integers(-3, 4, (8, 1, 3, 3))
    y = fastconv.depthwise_conv2d(x, w, padding=1)
    assert y.dtype == np.float64 and y.shape == (8, 11, 13)
    assert_conv_close(y, ref.depthwise_conv2d(x, w, padding=1), np.float64, 9)
    out = np.empty_like(y)
    assert fastconv.depthwise_conv2d(x, w, padding=1, out=out) is out
    np.testing.assert_array_equal(out, y)


def test_reference_depthwise_is_grouped_conv(rng):
    x = rng.standard_normal((1, 2, 6, 7))
    w = rng.standard_normal((4, 1, 2, 3))
    np.testing.assert_allclose(ref.depthwise_conv2d(x, w), ref.conv2d(x, w, groups=2))


def test_depthwise_against_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 6, 31, 29)).astype(np.float32)
    w = rng.standard_normal((12, 1, 3, 3)).astype(np.float32)
    y = fastconv.depthwise_conv2d(x, w, stride=2, padding=1)
    t = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=2,
                                   padding=1, groups=6).numpy()
    np.testing.assert_allclose(y, t, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------
# depthwise-separable
# --------------------------------------------------------------------------
def _separable_case(rng, dtype, n=2, c=5, m=2, c_out=7, hw=(37, 41), k=(3, 3)):
    x = make_array(rng, (n, c) + hw, dtype)
    dw = make_array(rng, (c * m, 1) + k, dtype)
    pw = make_array(rng, (c_out, c * m, 1, 1), dtype)
    b = make_array(rng, (c_out,), dtype)
    return x, dw, pw, b


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("algorithm, stride, padding, dilation, mode", with_algorithms([
    (1, 1, 1, "zeros"),
    (2, "same", 1, "replicate"),
    ((1, 3), ((3, 0), (2, 4)), (2, 1), "zeros"),
    (1, "valid", 3, "zeros"),
    (2, 2, 1, "reflect"),
], [(3, 3)]))
def test_separable_matches_reference(rng, dtype, algorithm, stride, padding, dilation, mode):
    x, dw, pw, b = _separable_case(rng, dtype)
    y = fastconv.separable_conv2d(x, dw, pw, b, stride, padding, dilation, padding_mode=mode,
                                  algorithm=algorithm)
    expected = ref.separable_conv2d(x, dw, pw, b, stride, padding, dilation, mode)
    assert_conv_close(y, expected, dtype, 9 * 10 + 1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 16, 97, 101), (3, 3, 5, 200), (2, 1, 130, 7)])
def test_fused_separable_is_bitwise_the_two_calls(rng, dtype, shape):
    n, c, h, w = shape
    x, dw, pw, b = _separable_case(rng, dtype, n=n, c=c, m=1, c_out=9, hw=(h, w))
    y = fastconv.separable_conv2d(x, dw, pw, b, padding=1)
    z = fastconv.conv2d(x, dw, None, 1, 1, groups=c, algorithm="direct")
    two = fastconv.conv2d(z, pw, b, algorithm="im2col")
    np.testing.assert_array_equal(y, two)


@pytest.mark.parametrize("hw, k, stride, padding, dilation", [
    ((40, 300), (3, 3), 9, 4, 1),                      # strides past the kernel's window buffer
    ((30, 200), (3, 5), 1, (0, 100), (2, 45)),         # huge dilation and padding
    ((5, 7), (3, 3), 1, 6, 1),                         # bands wholly in the padding
    ((64, 64), (5, 5), 3, ((7, 0), (0, 9)), (3, 1)),
])
def test_fused_separable_odd_geometries(rng, hw, k, stride, padding, dilation):
    x, dw, pw, b = _separable_case(rng, np.float32, n=2, c=3, m=2, c_out=4, hw=hw, k=k)
    y = fastconv.separable_conv2d(x, dw, pw, b, stride, padding, dilation)
    z = fastconv.conv2d(x, dw, None, stride, padding, dilation, 3, algorithm="direct")
    np.testing.assert_array_equal(y, fastconv.conv2d(z, pw, b, algorithm="im2col"))
    expected = ref.separable_conv2d(x, dw, pw, b, stride, padding, dilation)
    assert_conv_close(y, expected, np.float32, 2 * k[0] * k[1] * 6 + 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_separable_threads_bitwise(rng, dtype, threads):
    x, dw, pw, b = _separable_case(rng, dtype, n=3, c=24, m=2, c_out=20, hw=(61, 53))
    fastconv.set_num_threads(1)
    one = fastconv.separable_conv2d(x, dw, pw, b, 1, 1, 2)
    fastconv.set_num_threads(2)
    two = fastconv.separable_conv2d(x, dw, pw, b, 1, 1, 2)
    np.testing.assert_array_equal(one, two)


def test_separable_unbatched_out_and_promotion(rng):
    x, dw, pw, b = _separable_case(rng, np.float32, n=1)
    x = x[0]
    y = fastconv.separable_conv2d(x, dw, pw, b, padding=1)
    assert y.shape == (7, 37, 41) and y.dtype == np.float32
    out = np.empty_like(y)
    assert fastconv.separable_conv2d(x, dw, pw, b, padding=1, out=out) is out
    np.testing.assert_array_equal(out, y)
    out_f = np.empty((7, 41, 37), np.float32).transpose(0, 2, 1)     # not C-contiguous
    fastconv.separable_conv2d(x, dw, pw, b, padding=1, out=out_f)
    np.testing.assert_array_equal(out_f, y)
    y64 = fastconv.separable_conv2d(x, dw, pw.astype(np.float64), b, padding=1)
    assert y64.dtype == np.float64
    assert_conv_close(y64, ref.separable_conv2d(x, dw, pw, b, padding=1), np.float64, 91)
    yi = fastconv.separable_conv2d(np.ones((2, 4, 4), int), np.ones((2, 1, 3, 3), int),
                                   np.ones((3, 2, 1, 1), bool))
    assert yi.dtype == np.float64 and np.all(yi == 18)
    empty = fastconv.separable_conv2d(np.ones((0, 5, 8, 8), np.float32), dw, pw)
    assert empty.shape == (0, 7, 6, 6)


def test_separable_against_torch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, dw, pw, b = _separable_case(rng, np.float32, c=6, m=1, c_out=8)
    y = fastconv.separable_conv2d(x, dw, pw, b, padding=1)
    t = F.conv2d(F.conv2d(torch.from_numpy(x), torch.from_numpy(dw), padding=1, groups=6),
                 torch.from_numpy(pw), torch.from_numpy(b)).numpy()
    np.testing.assert_allclose(y, t, rtol=1e-4, atol=1e-4)


def test_separable_peak_memory_below_two_calls(rng):
    import tracemalloc
    x, dw, pw, b = _separable_case(rng, np.float32, n=1, c=64, m=1, c_out=64, hw=(64, 64))

    def peak(f):
        f()
        tracemalloc.start()
        f()
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return used

    fused = peak(lambda: fastconv.separable_conv2d(x, dw, pw, padding=1))
    two = peak(lambda: fastconv.conv2d(fastconv.depthwise_conv2d(x, dw, padding=1), pw))
    assert fused < two


# --------------------------------------------------------------------------
# spatially separable
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("algorithm, stride, groups, padding, dilation, mode", with_algorithms([
    (1, 1, 1, 1, "zeros"),
    ((2, 1), 2, "same", (1, 2), "reflect"),
    ((1, 3), 3, ((2, 1), (0, 3)), 2, "circular"),
    (2, 1, "valid", 1, "replicate"),
], [(3, 1), (1, 3)]))
def test_spatially_separable_matches_reference(rng, dtype, algorithm, groups, stride, padding,
                                               dilation, mode):
    kw = 3 if algorithm == "winograd" else 5
    c_in, c_mid, c_out = 2 * groups, 4 * groups, 3 * groups
    x = make_array(rng, (2, c_in, 29, 31), dtype)
    cw = make_array(rng, (c_mid, c_in // groups, 3, 1), dtype)
    rw = make_array(rng, (c_out, c_mid // groups, 1, kw), dtype)
    b = make_array(rng, (c_out,), dtype)
    y = fastconv.spatially_separable_conv2d(x, cw, rw, b, stride, padding, dilation, groups,
                                            padding_mode=mode, algorithm=algorithm)
    expected = ref.spatially_separable_conv2d(x, cw, rw, b, stride, padding, dilation, groups,
                                              mode)
    assert_conv_close(y, expected, dtype, 2 * 4 * 3 * kw + 1)


def test_spatially_separable_of_separate_is_the_2d_conv(rng):
    x = rng.standard_normal((1, 1, 20, 21))
    kernel = np.outer([1.0, 2.0, 1.0], [1.0, 0.0, -1.0])
    col, row = fastconv.separate(kernel)
    y = fastconv.spatially_separable_conv2d(x, col.reshape(1, 1, 3, 1), row.reshape(1, 1, 1, 3),
                                            padding="same")
    np.testing.assert_allclose(y, fastconv.conv2d(x, kernel[None, None], padding="same"),
                               rtol=1e-12, atol=1e-12)
    out = np.empty_like(y)
    fastconv.spatially_separable_conv2d(x, col.reshape(1, 1, 3, 1), row.reshape(1, 1, 1, 3),
                                        padding="same", out=out)
    np.testing.assert_array_equal(out, y)


# --------------------------------------------------------------------------
# separate
# --------------------------------------------------------------------------
def test_separate_integer_example():
    col, row = fastconv.separate([[3, 6, 9], [4, 8, 12], [5, 10, 15]])
    np.testing.assert_array_equal(col, [3, 4, 5])
    np.testing.assert_array_equal(row, [1, 2, 3])
    assert col.dtype == np.float64


@pytest.mark.parametrize("kernel", [
    [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    [[-2, -3], [-4, -6]],
    [[0, 0, 0], [0, 7, 0]],
    [[5, 10, 15]],
    [[2], [4], [-6]],
])
def test_separate_integer_kernels_exact(kernel):
    col, row = fastconv.separate(kernel)
    np.testing.assert_array_equal(np.outer(col, row), kernel)
    assert np.all(col == np.round(col)) and np.all(row == np.round(row))
    assert row[np.argmax(np.abs(row))] > 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_separate_float_kernels(rng, dtype):
    a, b = rng.standard_normal(5), rng.standard_normal(7)
    kernel = np.outer(a, b).astype(dtype)
    col, row = fastconv.separate(kernel, rtol=1e-5)
    assert col.dtype == dtype and row.dtype == dtype
    np.testing.assert_allclose(np.outer(col, row), kernel, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(col), np.linalg.norm(row), rtol=1e-5)
    g = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    cg, rg = fastconv.separate(np.outer(g, g))
    np.testing.assert_allclose(cg, g, rtol=1e-12)
    np.testing.assert_allclose(rg, g, rtol=1e-12)
    cz, rz = fastconv.separate(np.zeros((2, 3)))
    assert np.all(cz == 0) and np.all(rz == 0)


def test_separate_rejects_rank_two():
    kernel = np.array([[1.0, 0.0], [0.0, 1e-3]])
    with pytest.raises(ValueError, match=r"second singular value 0\.001"):
        fastconv.separate(kernel)
    col, row = fastconv.separate(kernel, rtol=1e-2)        # within a looser rtol
    np.testing.assert_allclose(np.outer(col, row), [[1, 0], [0, 0]], atol=1e-12)


@pytest.mark.parametrize("kernel, rtol, match", [
    (np.ones(3), 1e-6, "2-D"),
    (np.ones((0, 3)), 1e-6, "non-empty"),
    ([[1.0, np.nan]], 1e-6, "NaN"),
    (np.ones((2, 2)), -1.0, "rtol"),
])
def test_separate_errors(kernel, rtol, match):
    with pytest.raises(ValueError, match=match):
        fastconv.separate(kernel, rtol=rtol)


# --------------------------------------------------------------------------
# octave
# --------------------------------------------------------------------------
def _octave_weights(rng, dtype, c_hi, c_li, c_ho, c_lo, k=3):
    def w(o, i):
        return None if o == 0 or i == 0 else make_array(rng, (o, i, k, k), dtype)
    return w(c_ho, c_hi), w(c_lo, c_hi), w(c_ho, c_li), w(c_lo, c_li)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("algorithm", ALGOS)
@pytest.mark.parametrize("c_li, c_lo, stride, padding", [
    (3, 2, 1, 1),            # alpha_in > 0, alpha_out > 0
    (0, 2, 1, "same"),       # first layer
    (3, 0, 1, 1),            # last layer
    (3, 2, 2, 1),            # stride 2: pooled inputs
    (0, 0, 2, "same"),
])
def test_octave_matches_reference(rng, dtype, algorithm, c_li, c_lo, stride, padding):
    c_hi, c_ho = 4, 5
    xh = make_array(rng, (2, c_hi, 24, 20), dtype)
    xl = make_array(rng, (2, c_li, 12, 10), dtype) if c_li else None
    ws = _octave_weights(rng, dtype, c_hi, c_li, c_ho, c_lo)
    bh = make_array(rng, (c_ho,), dtype)
    bl = make_array(rng, (c_lo,), dtype) if c_lo else None
    yh, yl = fastconv.octave_conv2d(xh, xl, *ws, bh, bl, stride, padding, algorithm=algorithm)
    eh, el = ref.octave_conv2d(xh, xl, *ws, bh, bl, stride, padding)
    assert_conv_close(yh, eh, dtype, (c_hi + c_li) * 9 + 1)
    if c_lo:
        assert_conv_close(yl, el, dtype, (c_hi + c_li) * 9 + 1)
    else:
        assert yl is None and el is None


def test_octave_unbatched_ints_and_threads(rng, threads):
    xh = rng.integers(-3, 4, (4, 10, 14))
    xl = rng.integers(-3, 4, (2, 5, 7))
    ws = _octave_weights(rng, np.float64, 4, 2, 3, 3)
    fastconv.set_num_threads(1)
    yh, yl = fastconv.octave_conv2d(xh, xl, *ws, padding=1)
    assert yh.shape == (3, 10, 14) and yl.shape == (3, 5, 7) and yh.dtype == np.float64
    eh, el = ref.octave_conv2d(xh, xl, *ws, padding=1)
    assert_conv_close(yh, eh, np.float64, 54)
    assert_conv_close(yl, el, np.float64, 54)
    fastconv.set_num_threads(2)
    yh2, yl2 = fastconv.octave_conv2d(xh, xl, *ws, padding=1)
    np.testing.assert_array_equal(yh, yh2)
    np.testing.assert_array_equal(yl, yl2)


def test_octave_against_torch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    xh = rng.standard_normal((1, 4, 16, 16)).astype(np.float32)
    xl = rng.standard_normal((1, 4, 8, 8)).astype(np.float32)
    ws = _octave_weights(rng, np.float32, 4, 4, 6, 2)
    th, tl = torch.from_numpy(xh), torch.from_numpy(xl)
    hh, hl, lh, ll = (torch.from_numpy(w) for w in ws)
    eh = F.conv2d(th, hh, padding=1) + F.interpolate(F.conv2d(tl, lh, padding=1),
                                                     scale_factor=2, mode="nearest")
    el = F.conv2d(tl, ll, padding=1) + F.conv2d(F.avg_pool2d(th, 2), hl, padding=1)
    yh, yl = fastconv.octave_conv2d(xh, xl, *ws, padding=1)
    np.testing.assert_allclose(yh, eh.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(yl, el.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize("alpha", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_octave_split_merge(rng, dtype, alpha):
    x = make_array(rng, (2, 6, 8, 10), dtype)
    xh, xl = fastconv.octave_split(x, alpha)
    eh, el = ref.octave_split(x, alpha)
    c_h = round((1 - alpha) * 6)
    assert xh.shape == (2, c_h, 8, 10)
    np.testing.assert_allclose(xh, eh, rtol=1e-6)
    if el is None:
        assert xl is None
    else:
        np.testing.assert_allclose(xl, el, rtol=1e-6, atol=1e-6)
    assert xh.dtype == (np.float64 if dtype == np.int32 else dtype)
    merged = fastconv.octave_merge(xh, xl)
    np.testing.assert_allclose(merged, ref.octave_merge(eh, el), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(merged[:, :c_h], x[:, :c_h])
    assert not np.shares_memory(xh, x)


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------
def _x(*shape):
    return np.zeros(shape, np.float32)


@pytest.mark.parametrize("call, match", [
    (lambda: fastconv.depthwise_conv2d(_x(1, 3, 8, 8), _x(3, 2, 3, 3)),
     r"weight must have shape \(C \* m, 1, kh, kw\).*C = 3.*\(3, 2, 3, 3\)"),
    (lambda: fastconv.depthwise_conv2d(_x(1, 3, 8, 8), _x(4, 1, 3, 3)), r"\(4, 1, 3, 3\)"),
    (lambda: fastconv.depthwise_conv2d(_x(8, 8), _x(4, 1, 3, 3)), r"input must have 4 dims"),
    (lambda: fastconv.separable_conv2d(_x(1, 3, 8, 8), _x(3, 1, 3, 3), _x(4, 6, 1, 1)),
     r"pointwise_weight must have shape \(C_out, C \* m, 1, 1\) = \(C_out, 3, 1, 1\)"),
    (lambda: fastconv.separable_conv2d(_x(1, 3, 8, 8), _x(3, 1, 3, 3), _x(4, 3, 3, 3)),
     r"pointwise_weight.*\(4, 3, 3, 3\)"),
    (lambda: fastconv.separable_conv2d(_x(1, 3, 8, 8), _x(6, 3, 3, 3), _x(4, 6, 1, 1)),
     r"depthwise_weight must have shape"),
    (lambda: fastconv.separable_conv2d(_x(1, 3, 8, 8), _x(3, 1, 3, 3), _x(4, 3, 1, 1),
                                       _x(5)), r"bias must have shape \(4,\)"),
    (lambda: fastconv.separable_conv2d(_x(1, 3, 8, 8), _x(3, 1, 3, 3), _x(4, 3, 1, 1),
                                       algorithm="fft"), r"algorithm='fft'"),
    (lambda: fastconv.separable_conv2d(_x(1, 3, 8, 8), _x(3, 1, 3, 3), _x(4, 3, 1, 1),
                                       out=_x(1, 4, 8, 8)), r"out has shape"),
    (lambda: fastconv.separable_conv2d(_x(1, 3, 2, 2), _x(3, 1, 3, 3), _x(4, 3, 1, 1)),
     r"larger than the padded input"),
    (lambda: fastconv.spatially_separable_conv2d(_x(1, 2, 8, 8), _x(4, 2, 3, 3),
                                                 _x(3, 4, 1, 3)), r"column_weight must"),
    (lambda: fastconv.spatially_separable_conv2d(_x(1, 2, 8, 8), _x(4, 2, 3, 1),
                                                 _x(3, 4, 3, 1)), r"row_weight must"),
    (lambda: fastconv.spatially_separable_conv2d(_x(1, 2, 8, 8), _x(4, 2, 3, 1),
                                                 _x(3, 3, 1, 3)), r"C_mid = 3 \* 1 = 3"),
    (lambda: fastconv.spatially_separable_conv2d(_x(1, 2, 8, 8), _x(4, 2, 3, 1),
                                                 _x(3, 4, 1, 3), groups=0), r"groups"),
    (lambda: fastconv.spatially_separable_conv2d(_x(1, 3, 8, 8), _x(4, 2, 3, 1),
                                                 _x(3, 4, 1, 3)), r"input has 3 channels"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _oct(**changes):
    args = dict(x_high=_x(1, 4, 8, 8), x_low=_x(1, 2, 4, 4), w_hh=_x(3, 4, 3, 3),
                w_hl=_x(2, 4, 3, 3), w_lh=_x(3, 2, 3, 3), w_ll=_x(2, 2, 3, 3), padding=1)
    args.update(changes)
    return lambda: fastconv.octave_conv2d(**args)


@pytest.mark.parametrize("call, match", [
    (_oct(x_low=_x(1, 2, 3, 4)), r"x_low must be half the size of x_high.*\(8, 8\)"),
    (_oct(x_high=_x(1, 4, 9, 8), x_low=_x(1, 2, 4, 4)), r"half the size"),
    (_oct(x_high=_x(1, 4, 6, 6), x_low=_x(1, 2, 3, 3), stride=2),
     r"x_low has spatial size \(3, 3\), which must be even"),
    (_oct(x_low=None, w_lh=None, w_ll=None, x_high=_x(1, 4, 6, 6), stride=2),
     r"x_high after stride 2 has spatial size \(3, 3\)"),
    (_oct(stride=3), r"stride must be 1 or 2"),
    (_oct(w_lh=_x(3, 5, 3, 3)), r"w_lh of shape \(3, 5, 3, 3\) has 5 input channels"),
    (_oct(w_lh=_x(4, 2, 3, 3)), r"w_lh .* 4 output channels.*w_hh's output channels make 3"),
    (_oct(w_ll=_x(3, 2, 3, 3)), r"w_ll .* w_hl's output channels make 2"),
    (_oct(w_hl=_x(2, 3, 3, 3)), r"w_hl .* x_high's channels make 4"),
    (_oct(w_hh=_x(3, 5, 3, 3)), r"w_hh .* x_high's channels make 4"),
    (_oct(w_ll=_x(2, 2, 5, 5)), r"same kernel size"),
    (_oct(w_lh=None), r"w_lh is None"),
    (_oct(w_hl=None), r"w_hl is None"),
    (_oct(x_low=None), r"w_lh is given"),
    (_oct(w_hh=None), r"w_hh is required"),
    (_oct(padding=0), r"does not keep the octaves aligned"),
    (_oct(bias_high=_x(4)), r"bias_high must have shape \(3,\)"),
    (_oct(w_hl=None, w_ll=None, bias_low=_x(2)), r"bias_low is given"),
    (_oct(x_low=_x(2, 4, 4)), r"batched like x_high"),
    (_oct(algorithm="nope"), r"algorithm='nope'"),
    (lambda: fastconv.octave_split(_x(1, 4, 5, 6), 0.5), r"x has spatial size \(5, 6\)"),
    (lambda: fastconv.octave_split(_x(1, 4, 6, 6), 1.5), r"alpha must be"),
    (lambda: fastconv.octave_split(_x(6, 6), 0.5), r"x must have 4 dims"),
    (lambda: fastconv.octave_merge(_x(1, 4, 6, 6), _x(1, 2, 4, 3)),
     r"x_low must be half the size"),
    (lambda: fastconv.octave_merge(_x(1, 4, 6, 6), _x(2, 2, 3, 3)), r"batched like x_high"),
])
def test_octave_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match="object"):
        fastconv.depthwise_conv2d(np.ones((1, 2, 4, 4), object), np.ones((2, 1, 3, 3)))
    with pytest.raises(TypeError, match="pointwise_weight"):
        fastconv.separable_conv2d(_x(1, 3, 8, 8), _x(3, 1, 3, 3), np.ones((4, 3, 1, 1), object))
    with pytest.raises(TypeError, match="kernel"):
        fastconv.separate(np.array([["a"]]))


def test_inputs_not_modified(rng):
    xh = rng.standard_normal((1, 4, 8, 8)).astype(np.float32)
    xl = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    ws = _octave_weights(rng, np.float32, 4, 2, 3, 2)
    copies = [a.copy() for a in (xh, xl) + ws]
    fastconv.octave_conv2d(xh, xl, *ws, padding=1, stride=2)
    for a, c in zip((xh, xl) + ws, copies):
        np.testing.assert_array_equal(a, c)


def test_public_names():
    for name in ("depthwise_conv2d", "separable_conv2d", "spatially_separable_conv2d",
                 "separate", "octave_conv2d", "octave_split", "octave_merge"):
        assert getattr(fastconv, name).__module__ == "fastconv"
        assert hasattr(ref, name) or name == "separate"
