"""Tests of fastconv.conv_transpose1d/2d/3d and conv_transpose_output_shape."""
import itertools

import numpy as np
import pytest

import fastconv
from fastconv import reference
from conftest import FLOAT_DTYPES, assert_conv_close

ALGOS = ("auto", "direct", "im2col")
FUNCS = {1: fastconv.conv_transpose1d, 2: fastconv.conv_transpose2d,
         3: fastconv.conv_transpose3d}


def _terms(weight, stride, dilation):
    # products summed per output element: at most C_in/groups * prod(kernel)
    return int(weight.shape[0] * np.prod(weight.shape[2:])) + 1


GRID = [
    # nd, stride, padding, output_padding, groups, dilation, kernel
    (1, s, p, op, g, d, k)
    for s, p, op, g, d, k in itertools.product((1, 2, 3), (0, ((2, 0),)), (0, 1), (1, 2),
                                               (1, 2), (1, 4))
    if op < s or op < d
] + [
    (2, s, p, op, g, d, 3)
    for s, p, op, g, d in itertools.product((1, 2, 3), (1, ((0, 2),)), (0, 1), (1, 2), (1, 2))
    if (op < s or op < d) and (g == 2) == (d == 2)
] + [(3, 2, 1, 1, 1, 1, 3), (3, 1, 0, 0, 2, 2, 2), (3, 3, 2, 2, 1, 1, 4)]


@pytest.mark.parametrize("nd,s,p,op,g,d,k", GRID)
def test_matches_reference_on_grid(rng, nd, s, p, op, g, d, k):
    spatial = {1: (7,), 2: (5, 6), 3: (3, 4, 5)}[nd]
    padding = p if not isinstance(p, tuple) else p * nd
    x = rng.standard_normal((2, 4) + spatial)
    w = rng.standard_normal((4, 3) + (k,) * nd)
    b = rng.standard_normal(3 * g)
    ref = reference.conv_transpose_nd(x, w, b, s, padding, op, g, d)
    for algorithm in ALGOS:
        for dtype in FLOAT_DTYPES:
            y = FUNCS[nd](x.astype(dtype), w.astype(dtype), b.astype(dtype), s, padding, op, g,
                          d, algorithm=algorithm)
            assert_conv_close(y, ref, dtype, _terms(w, s, d), err_msg=algorithm)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_gemm_col2im_in_row_blocks(rng, nd, monkeypatch):
    """The im2col path on blocks of input rows (a GEMM and a scatter-add per
    block), as large inputs run, against the reference (rows on a block boundary
    sum their taps in another order than the whole-image path does)."""
    from fastconv import _transposed

    spatial = {1: (29,), 2: (9, 7), 3: (5, 4, 6)}[nd]
    x = rng.standard_normal((2, 6) + spatial).astype(np.float32)
    w = rng.standard_normal((6, 4) + (3,) * nd).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    kwargs = dict(stride=2, padding=1, output_padding=1, groups=2, algorithm="im2col")
    # 4 * 3**nd columns per input row: blocks of two rows (the last one shorter)
    monkeypatch.setattr(_transposed, "COL2IM_BLOCK_ELEMENTS",
                        2 * 4 * 3 ** nd * int(np.prod(spatial[1:])))
    blocked = FUNCS[nd](x, w, b, **kwargs)
    ref = reference.conv_transpose_nd(x.astype(np.float64), w.astype(np.float64),
                                      b.astype(np.float64), 2, 1, 1, 2, 1)
    assert_conv_close(blocked, ref, np.float32, _terms(w, 2, 1))


@pytest.mark.parametrize("algorithm", ALGOS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_odd_sizes_and_bench_layer(rng, algorithm, dtype):
    x = rng.standard_normal((1, 17, 13, 11)).astype(dtype)
    w = rng.standard_normal((17, 5, 4, 4)).astype(dtype)
    y = fastconv.conv_transpose2d(x, w, stride=2, padding=1, algorithm=algorithm)
    assert_conv_close(y, reference.conv_transpose2d(x, w, stride=2, padding=1), dtype, 17 * 16)
    x = rng.standard_normal((2, 3, 97)).astype(dtype)
    w = rng.standard_normal((3, 2, 5)).astype(dtype)
    y = fastconv.conv_transpose1d(x, w, stride=3, padding=2, output_padding=2,
                                  algorithm=algorithm)
    ref = reference.conv_transpose1d(x, w, stride=3, padding=2, output_padding=2)
    assert_conv_close(y, ref, dtype, 15)


def test_unbatched_int_inputs_and_out(rng):
    x = rng.integers(-3, 4, (2, 5, 5))
    w = rng.integers(-3, 4, (2, 3, 3, 3))
    y = fastconv.conv_transpose2d(x, w, stride=2)
    assert y.dtype == np.float64 and y.shape == (3, 11, 11)
    np.testing.assert_allclose(y, reference.conv_transpose2d(x, w, stride=2))
    out = np.empty_like(y)
    assert fastconv.conv_transpose2d(x, w, stride=2, out=out) is out
    np.testing.assert_array_equal(out, y)
    x32 = x.astype(np.float32)
    x_copy = x32.copy()
    fastconv.conv_transpose2d(x32, w.astype(np.float32), stride=2)
    np.testing.assert_array_equal(x32, x_copy)          # inputs never modified


@pytest.mark.parametrize("algorithm", ALGOS)
def test_channels_last(rng, algorithm):
    x = rng.standard_normal((2, 6, 7, 4))                # (N, H, W, C)
    w = rng.standard_normal((4, 3, 3, 3))
    y = fastconv.conv_transpose2d(x, w, stride=2, padding=1, layout="channels_last",
                                  algorithm=algorithm)
    ref = reference.conv_transpose2d(np.moveaxis(x, -1, 1), w, stride=2, padding=1)
    np.testing.assert_allclose(y, np.moveaxis(ref, 1, -1), rtol=1e-12, atol=1e-12)
    out = np.empty(y.shape)
    fastconv.conv_transpose2d(x, w, stride=2, padding=1, layout="channels_last", out=out)
    np.testing.assert_allclose(out, y, rtol=1e-12, atol=1e-12)
    y1 = fastconv.conv_transpose1d(x[0, 0], w[..., 0], layout="channels_last")
    assert y1.shape == (9, 3)


@pytest.mark.parametrize("algorithm", ALGOS)
def test_threads_bitwise_equal(rng, algorithm, threads):
    x = rng.standard_normal((2, 16, 13, 11)).astype(np.float32)
    w = rng.standard_normal((16, 24, 4, 4)).astype(np.float32)
    results = []
    for threads in (1, 2):
        fastconv.set_num_threads(threads)
        results.append(fastconv.conv_transpose2d(x, w, stride=2, padding=1,
                                                 algorithm=algorithm))
    np.testing.assert_array_equal(results[0], results[1])


def test_torch_oracle(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 6, 9, 8))
    w = rng.standard_normal((6, 2, 3, 4))
    b = rng.standard_normal(6)
    kw = dict(stride=(2, 3), padding=(1, 2), output_padding=(1, 0), groups=3, dilation=(1, 2))
    ref = torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(w),
                                               torch.tensor(b), **kw).numpy()
    for algorithm in ALGOS:
        np.testing.assert_allclose(fastconv.conv_transpose2d(x, w, b, algorithm=algorithm, **kw),
                                   ref, rtol=1e-10, atol=1e-10)


def test_output_shape():
    assert fastconv.conv_transpose_output_shape((1, 64, 28, 28), (64, 32, 4, 4), 2, 1) == (
        1, 32, 56, 56)
    assert fastconv.conv_transpose_output_shape((4, 10), (4, 2, 3), 3, 1, 2, 1, 2) == (4, 30)
    assert fastconv.conv_transpose_output_shape((2, 4, 3, 3, 3), (4, 1, 2, 2, 2), 2,
                                                ((1, 0),) * 3) == (2, 1, 5, 5, 5)


def test_is_adjoint_of_conv(rng):
    x = rng.standard_normal((2, 5, 11, 10))
    w = rng.standard_normal((6, 5, 3, 3))
    y = fastconv.conv2d(x, w, stride=2, padding=1)
    g = rng.standard_normal(y.shape)
    gx = fastconv.conv_transpose2d(g, w, stride=2, padding=1, output_padding=(0, 1))
    assert gx.shape == x.shape
    np.testing.assert_allclose(np.vdot(y, g), np.vdot(x, gx), rtol=1e-10)


ERRORS = [
    (dict(output_padding=2, stride=2), "output_padding"),
    (dict(output_padding=-1), "output_padding"),
    (dict(stride=0), "stride"),
    (dict(dilation=(1,)), "dilation"),
    (dict(padding="same"), "padding"),
    (dict(padding=-1), "padding"),
    (dict(groups=0), "groups"),
    (dict(groups=3), "groups"),
    (dict(algorithm="fft"), "algorithm"),
    (dict(layout="nhwc"), "layout"),
    (dict(padding=10), "not positive"),
    (dict(bias=np.ones(5)), "bias"),
    (dict(out=np.empty((1, 3, 9, 9))), "out"),
    (dict(out=np.empty((1, 3, 6, 6), np.float32)), "dtype"),
]


@pytest.mark.parametrize("kwargs,match", ERRORS)
def test_errors(kwargs, match):
    x = np.ones((1, 4, 5, 5))
    w = np.ones((4, 3, 2, 2))
    with pytest.raises(ValueError, match=match):
        fastconv.conv_transpose2d(x, w, **kwargs)


def test_shape_and_type_errors():
    with pytest.raises(ValueError, match="weight"):
        fastconv.conv_transpose2d(np.ones((1, 4, 5, 5)), np.ones((4, 3, 2)))
    with pytest.raises(ValueError, match="input"):
        fastconv.conv_transpose2d(np.ones((5, 5)), np.ones((4, 3, 2, 2)))
    with pytest.raises(ValueError, match="channels"):
        fastconv.conv_transpose2d(np.ones((1, 3, 5, 5)), np.ones((4, 3, 2, 2)))
    with pytest.raises(ValueError, match="empty"):
        fastconv.conv_transpose2d(np.ones((1, 4, 5, 5)), np.ones((4, 0, 2, 2)))
    with pytest.raises(TypeError, match="object"):
        fastconv.conv_transpose2d(np.ones((1, 4, 5, 5), object), np.ones((4, 3, 2, 2)))
    x = np.ones((1, 4, 5, 5))
    with pytest.raises(ValueError, match="overlaps"):
        fastconv.conv_transpose2d(x, np.ones((4, 4, 1, 1)), out=x)
    with pytest.raises(ValueError, match="entries"):
        fastconv.conv_transpose_output_shape((1, 4), (4, 3, 2, 2))
    with pytest.raises(ValueError, match="channels"):
        fastconv.conv_transpose_output_shape((1, 3, 5, 5), (4, 3, 2, 2))


def test_winograd_stride_1_and_its_errors(rng):
    x = rng.standard_normal((2, 8, 11, 9)).astype(np.float32)
    w = rng.standard_normal((8, 6, 3, 3)).astype(np.float32)
    y = fastconv.conv_transpose2d(x, w, padding=1, algorithm="winograd")
    assert_conv_close(y, reference.conv_transpose2d(x, w, padding=1), np.float32, 8 * 9 * 4)
    with pytest.raises(ValueError, match="winograd"):
        fastconv.conv_transpose2d(x, w, stride=2, algorithm="winograd")
    with pytest.raises(ValueError, match="winograd"):
        fastconv.conv_transpose2d(x, rng.standard_normal((8, 6, 4, 4)), algorithm="winograd")


def _col2im_in_order(cols, out, in_block, start, kernel, stride, padding, dilation):
    """col2im_add's definition, one tap after another in (kd, kh, kw) order
    (NumPy adds in the kernel's dtype: the same rounding per add)."""
    out = out.copy()
    C = out.shape[0]
    P = int(np.prod(in_block))
    taps = list(itertools.product(*(range(k) for k in kernel)))
    cols = cols.reshape(C, len(taps), *in_block)
    for t, tap in enumerate(taps):
        for pos in itertools.product(*(range(b) for b in in_block)):
            q = tuple((s0 + i) * s + k * d - p for s0, i, s, k, d, p in
                      zip(start, pos, stride, tap, dilation, padding))
            if all(0 <= v < n for v, n in zip(q, out.shape[1:])):
                out[(slice(None),) + q] += cols[(slice(None), t) + pos]
    assert P == int(np.prod(in_block))
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [
    # (channels, out (OD, OH, OW), block, start, kernel, stride, padding, dilation)
    (3, (1, 12, 13), (1, 6, 6), (0, 0, 0), (1, 4, 4), (1, 2, 2), (0, 1, 1), (1, 1, 1)),
    (2, (1, 9, 17), (1, 4, 5), (0, 1, 0), (1, 3, 3), (1, 2, 3), (0, 1, 0), (1, 1, 2)),
    (2, (3, 7, 8), (2, 3, 4), (0, 0, 0), (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1)),
    (1, (1, 5, 11), (1, 3, 4), (0, 0, 1), (1, 1, 5), (1, 1, 2), (0, 0, 2), (1, 1, 1)),
    (4, (1, 1, 9), (1, 1, 3), (0, 0, 0), (1, 1, 3), (1, 1, 4), (0, 0, 1), (1, 1, 1)),
])
def test_col2im_add_by_rows_sums_each_element_in_tap_order(case, dtype):
    # Strided along the rows, col2im_add gathers each output row's stride
    # phases and adds every tap's run to them; the sums must be those of the
    # taps one after another, bitwise, at any thread count.
    from fastconv._kernels import _grad
    C, out_shape, block, start, kernel, stride, padding, dilation = case
    rng = np.random.default_rng(sum(out_shape))
    kk = int(np.prod(kernel))
    cols = rng.standard_normal((C * kk, int(np.prod(block)))).astype(dtype)
    base = rng.standard_normal((C,) + out_shape).astype(dtype)
    expected = _col2im_in_order(cols, base, block, start, kernel, stride, padding, dilation)
    for threads in (1, 3):
        out = base.copy()
        _grad.col2im_add(cols, out, block, start, kernel, stride, padding, dilation, threads)
        np.testing.assert_array_equal(out, expected)
