"""A result does not depend on where an element sits in the array.

The same region of the output, computed from the slice of the input that
reaches it, has the bits it has in the whole result: every kernel adds an
element's products in one order, with the same vector operations, whether the
element lies in a vector body, a tail, an edge tile or a block of its own.
Chunked computations (``fastconv.dask``) rely on it.

Winograd F(2, 3) computes the two outputs of a tile by different formulas,
so there the slices must start on a tile boundary (a multiple of 2, times
the dilation, in output positions).
"""
import numpy as np
import pytest

import fastconv
from fastconv import _transposed
from fastconv._kernels import _gemm

LEVELS = _gemm.isa_levels()


@pytest.fixture
def level(request):
    previous = _gemm.isa_get()
    _gemm.isa_set(request.param)
    yield request.param
    _gemm.isa_set(previous)


def _windows(rng, n, span, align=1, count=5):
    """Input windows [a, b) at least ``span`` long, starting on multiples of ``align``."""
    out = [(0, n), (align, n), (0, min(n, span + 2)), (n - span - 3 - (n - span - 3) % align, n)]
    for _ in range(count):
        a = int(rng.integers(0, n - span + 1)) // align * align
        out.append((a, int(rng.integers(a + span, n + 1))))
    return [(a, b) for a, b in out if a >= 0 and b - a >= span]


@pytest.mark.parametrize("level", LEVELS, indirect=True)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel", [((61, 203), (5, 5)), ((61, 203), (11, 11)),
                                           ((40, 5), (3, 3)), ((37, 13), (4, 6)),
                                           ((29, 47), (1, 7)), ((29, 47), (7, 1))])
def test_correlate_slices_give_the_bits_of_the_whole(level, dtype, shape, kernel):
    # 30 random windows, among them widths narrower than a vector and runs
    # that end anywhere in a vector: the filter kernel's tails.
    rng = np.random.default_rng(sum(shape) + sum(kernel))
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(kernel).astype(dtype)
    whole = fastconv.correlate(x, w, "valid", algorithm="direct")
    for _ in range(30):
        r0 = int(rng.integers(0, shape[0] - kernel[0] + 1))
        c0 = int(rng.integers(0, shape[1] - kernel[1] + 1))
        r1 = int(rng.integers(r0 + kernel[0], shape[0] + 1))
        c1 = int(rng.integers(c0 + kernel[1], shape[1] + 1))
        part = fastconv.correlate(x[r0:r1, c0:c1], w, "valid", algorithm="direct")
        np.testing.assert_array_equal(
            part, whole[r0:r1 - kernel[0] + 1, c0:c1 - kernel[1] + 1],
            err_msg=f"window rows {r0}:{r1}, columns {c0}:{c1}")


@pytest.mark.parametrize("level", LEVELS, indirect=True)
@pytest.mark.parametrize("taps", [1, 3, 8, 31])
def test_correlate_1d_slices(level, taps):
    rng = np.random.default_rng(taps)
    x = rng.standard_normal(1001).astype(np.float32)
    w = rng.standard_normal(taps).astype(np.float32)
    whole = fastconv.correlate(x, w, "valid", algorithm="direct")
    for a, b in _windows(rng, x.size, taps, count=20):
        part = fastconv.correlate(x[a:b], w, "valid", algorithm="direct")
        np.testing.assert_array_equal(part, whole[a:b - taps + 1], err_msg=f"window {a}:{b}")


def test_correlate_region_of_a_boundary_result():
    # 'same' with a boundary: the region's inputs, extended by the rule, give
    # the region's bits.
    rng = np.random.default_rng(5)
    x = rng.standard_normal((50, 67)).astype(np.float32)
    w = rng.standard_normal((5, 7)).astype(np.float32)
    whole = fastconv.correlate(x, w, "same", boundary="reflect", algorithm="direct")
    ext = np.pad(x, ((2, 2), (3, 3)), mode="symmetric")
    for r0, c0, r1, c1 in [(0, 0, 50, 67), (3, 9, 20, 30), (10, 60, 50, 67), (0, 1, 1, 2)]:
        part = fastconv.correlate(ext[r0:r1 + 4, c0:c1 + 6], w, "valid", algorithm="direct")
        np.testing.assert_array_equal(part, whole[r0:r1, c0:c1])


CONV_CASES = [  # C_in, C_out, kernel, stride, dilation, groups
    (16, 32, 3, 1, 1, 1), (16, 32, 3, 2, 1, 1), (8, 8, 5, 1, 2, 2), (12, 12, 3, 1, 1, 12),
    (12, 24, 3, 1, 1, 12), (12, 12, 5, 2, 1, 12), (12, 12, 3, 1, 2, 12), (6, 6, 7, 1, 1, 6),
    (32, 32, 1, 1, 1, 1), (4, 8, 3, 3, 1, 1), (4, 4, 2, 1, 1, 1),
]


@pytest.mark.parametrize("level", LEVELS, indirect=True)
@pytest.mark.parametrize("algorithm", ["direct", "im2col"])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_slices(level, algorithm, case):
    c, o, k, s, d, g = case
    rng = np.random.default_rng(sum(case))
    x = rng.standard_normal((2, c, 45, 53)).astype(np.float32)
    w = rng.standard_normal((o, c // g, k, k)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    span = d * (k - 1) + 1
    whole = fastconv.conv2d(x, w, b, s, 0, d, g, algorithm=algorithm)
    for r0, r1 in _windows(rng, 45, span, align=s, count=2):
        for c0, c1 in _windows(rng, 53, span, align=s, count=2):
            part = fastconv.conv2d(x[:, :, r0:r1, c0:c1], w, b, s, 0, d, g, algorithm=algorithm)
            oh, ow = part.shape[2:]
            np.testing.assert_array_equal(
                part, whole[:, :, r0 // s:r0 // s + oh, c0 // s:c0 // s + ow],
                err_msg=f"window rows {r0}:{r1}, columns {c0}:{c1}")


def test_direct_and_im2col_give_the_same_bits():
    # Both sum bias, then (ic, kd, kh, kw) in order with fused multiply-adds:
    # an automatic choice between them, made per block, cannot change a bit.
    rng = np.random.default_rng(3)
    for c, o, k, s, d, g in CONV_CASES:
        x = rng.standard_normal((2, c, 21, 26)).astype(np.float32)
        w = rng.standard_normal((o, c // g, k, k)).astype(np.float32)
        b = rng.standard_normal(o).astype(np.float32)
        np.testing.assert_array_equal(fastconv.conv2d(x, w, b, s, 1, d, g, algorithm="direct"),
                                      fastconv.conv2d(x, w, b, s, 1, d, g, algorithm="im2col"))


@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_winograd_slices_on_tile_boundaries(dilation, dtype):
    rng = np.random.default_rng(dilation)
    x = rng.standard_normal((1, 16, 50, 47)).astype(dtype)
    w = rng.standard_normal((16, 16, 3, 3)).astype(dtype)
    whole = fastconv.conv2d(x, w, None, 1, 0, dilation, algorithm="winograd")
    span, tile = 2 * dilation + 1, 2 * dilation
    for r0, r1 in _windows(rng, 50, span, align=tile, count=3):
        for c0, c1 in _windows(rng, 47, span, align=tile, count=3):
            part = fastconv.conv2d(x[:, :, r0:r1, c0:c1], w, None, 1, 0, dilation,
                                   algorithm="winograd")
            oh, ow = part.shape[2:]
            np.testing.assert_array_equal(part, whole[:, :, r0:r0 + oh, c0:c0 + ow])


def test_conv1d_and_conv3d_slices():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 8, 301)).astype(np.float32)
    w = rng.standard_normal((16, 8, 5)).astype(np.float32)
    whole = fastconv.conv1d(x, w)
    for a, b in _windows(rng, 301, 5, count=10):
        np.testing.assert_array_equal(fastconv.conv1d(x[:, :, a:b], w),
                                      whole[:, :, a:b - 4])
    x = rng.standard_normal((1, 4, 13, 17, 19)).astype(np.float32)
    w = rng.standard_normal((8, 4, 3, 3, 3)).astype(np.float32)
    for algorithm, align in (("direct", 1), ("im2col", 1), ("winograd", 2)):
        whole = fastconv.conv3d(x, w, algorithm=algorithm)
        for i in range(4):
            box = [_windows(rng, n, 3, align=align, count=1)[-1] for n in x.shape[2:]]
            part = fastconv.conv3d(x[(...,) + tuple(slice(a, b) for a, b in box)], w,
                                   algorithm=algorithm)
            np.testing.assert_array_equal(
                part, whole[(...,) + tuple(slice(a, b - 2) for a, b in box)],
                err_msg=f"{algorithm}, box {box}")


@pytest.mark.parametrize("stride", [1, 2])
def test_separable_slices(stride):
    rng = np.random.default_rng(stride)
    x = rng.standard_normal((2, 8, 40, 45)).astype(np.float32)
    dw = rng.standard_normal((16, 1, 3, 3)).astype(np.float32)
    pw = rng.standard_normal((12, 16, 1, 1)).astype(np.float32)
    b = rng.standard_normal(12).astype(np.float32)
    whole = fastconv.separable_conv2d(x, dw, pw, b, stride)
    for r0, r1 in _windows(rng, 40, 3, align=stride, count=3):
        for c0, c1 in _windows(rng, 45, 3, align=stride, count=3):
            part = fastconv.separable_conv2d(x[:, :, r0:r1, c0:c1], dw, pw, b, stride)
            oh, ow = part.shape[2:]
            np.testing.assert_array_equal(
                part, whole[:, :, r0 // stride:r0 // stride + oh, c0 // stride:c0 // stride + ow])


@pytest.mark.parametrize("case", [(32, 16, 4, 2, 1), (16, 8, 3, 2, 2), (16, 16, 5, 3, 1)])
def test_transposed_gemm_does_not_depend_on_its_row_blocks(case, monkeypatch):
    # The GEMM + col2im path works in blocks of input rows whose size follows
    # the image's width: every element must still sum its taps in one order.
    ci, co, k, s, d = case
    rng = np.random.default_rng(ci + k)
    x = rng.standard_normal((1, ci, 23, 19)).astype(np.float32)
    w = rng.standard_normal((ci, co, k, k)).astype(np.float32)
    b = rng.standard_normal(co).astype(np.float32)
    whole = fastconv.conv_transpose2d(x, w, b, s, 1, 0, 1, d, algorithm="im2col")
    for elements in (1 << 12, 1 << 14, 1 << 16):
        monkeypatch.setattr(_transposed, "COL2IM_BLOCK_ELEMENTS", elements)
        np.testing.assert_array_equal(
            fastconv.conv_transpose2d(x, w, b, s, 1, 0, 1, d, algorithm="im2col"), whole,
            err_msg=f"blocks of {elements} elements")


@pytest.mark.parametrize("shape, kernel", [((5000,), (7,)), ((700, 37), (5, 3))])
def test_fft_regions_of_whole_blocks(shape, kernel):
    # The FFT's blocks start at the first output and depend on the kernel
    # alone: a region of whole blocks, long enough to be cut into blocks
    # itself, gets the whole result's bits from its own input.
    from fastconv import _signal
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(kernel).astype(np.float32)
    whole = fastconv.correlate(x, w, "valid", algorithm="fft")
    plan = _signal.fft_blocks(shape, kernel)
    block = plan[0][2]
    for first, count in [(0, 9), (block * 3, 10), (block * 2, 20)]:
        rows = min(count * block, whole.shape[0] - first)
        part = fastconv.correlate(x[first:first + rows + kernel[0] - 1], w, "valid",
                                  algorithm="fft")
        np.testing.assert_array_equal(part, whole[first:first + rows])
