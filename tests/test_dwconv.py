"""The depthwise kernels of fixed size and stride (dw3x3s1 ... dw7x7s2).

``fastconv._kernels._dwconv`` runs 2-D depthwise layers of square 3x3, 5x5 or
7x7 kernels with stride 1 or 2 and no dilation (the direct algorithm, chosen
by ``auto`` for depthwise layers). Checked against the float64 reference at
every SIMD level of this machine, with sizes that do not divide the register
tiles or the row blocks, asymmetric and large padding and channel
multipliers; against the general direct kernel bit for bit (the same
summation order); for any thread count bit for bit; and a slice of the input
gives the same bits as the same region of the whole.
"""
import numpy as np
import pytest
from conftest import assert_conv_close

import fastconv
from fastconv import _dispatch, reference
from fastconv._args import prepare_conv
from fastconv._kernels import _conv, _dwconv, _gemm

LEVELS = _gemm.isa_levels()
KERNELS = [(3, 1), (3, 2), (5, 1), (5, 2), (7, 1), (7, 2)]


@pytest.fixture
def level_guard():
    previous = _gemm.isa_get()
    yield
    _gemm.isa_set(previous)


@pytest.fixture
def threads_guard():
    previous = fastconv.get_num_threads()
    yield
    fastconv.set_num_threads(previous)


def data(shape, k, mult, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    c = shape[1]
    w = rng.standard_normal((c * mult, 1, k, k)).astype(dtype)
    b = rng.standard_normal(c * mult).astype(dtype)
    return x, w, b


# (x shape, channel multiplier, padding): odd sizes against the vector width
# and the tile heights, a row of one pixel, maps smaller than the kernel with
# padding, asymmetric and large padding.
SHAPES = [
    ((2, 3, 13, 21), 1, "k//2"),
    ((1, 2, 7, 7), 3, "k//2"),
    ((1, 4, 29, 37), 2, 0),
    ((1, 2, 1, 9), 1, "k//2"),
    ((1, 1, 5, 3), 2, ((3, 4), (5, 2))),
    ((2, 2, 40, 67), 1, ((0, 3), (2, 1))),
    ((1, 3, 101, 17), 1, 9),
]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k,s", KERNELS)
@pytest.mark.parametrize("case", range(len(SHAPES)))
def test_matches_reference_at_every_level(level, dtype, k, s, case, level_guard):
    shape, mult, pad = SHAPES[case]
    padding = k // 2 if pad == "k//2" else pad
    x, w, b = data(shape, k, mult, dtype, case)
    _gemm.isa_set(level)
    kw = dict(stride=s, padding=padding, groups=shape[1])
    y = fastconv.conv2d(x, w, b, algorithm="direct", **kw)
    ref = reference.conv2d(x, w, b, **kw)
    assert y.dtype == dtype
    assert_conv_close(y, ref, dtype, k * k + 1, err_msg=f"level={level}")


def _general_direct(x, w, b, stride, padding, groups, isa):
    """The general direct kernel of ``_conv`` on the same problem (5-D views)."""
    problem, xb, wb, bb, _ = prepare_conv(2, x, w, b, stride, padding, 1, groups, "zeros",
                                          "direct", None)
    out = np.empty(problem.out_shape, x.dtype)
    pads = (0,) + tuple(problem.pad_before)
    _conv.direct(xb[:, :, None], wb[:, :, None], bb, out[:, :, None], (1, stride, stride),
                 pads, (1, 1, 1), groups, 1, isa)
    return out


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k,s", KERNELS)
def test_same_bits_as_the_general_direct_kernel(level, dtype, k, s, level_guard):
    x, w, b = data((2, 3, 27, 45), k, 2, dtype, 7)
    _gemm.isa_set(level)
    isa = _dispatch.isa_level()
    y = fastconv.conv2d(x, w, b, stride=s, padding=k // 2, groups=3, algorithm="direct")
    np.testing.assert_array_equal(y, _general_direct(x, w, b, s, k // 2, 3, isa))


@pytest.mark.parametrize("k,s", KERNELS)
def test_thread_count_does_not_change_bits(k, s, threads_guard):
    x, w, b = data((3, 5, 61, 33), k, 1, np.float32, 11)
    kw = dict(stride=s, padding=k // 2, groups=5)
    fastconv.set_num_threads(1)
    y1 = fastconv.conv2d(x, w, b, **kw)
    for t in (2, 3, 7):
        fastconv.set_num_threads(t)
        np.testing.assert_array_equal(fastconv.conv2d(x, w, b, **kw), y1)


@pytest.mark.parametrize("k,s", KERNELS)
def test_slice_gives_the_bits_of_the_whole(k, s):
    # Without padding, output (i, j) reads input rows and columns from
    # (i * s, j * s) on: the part computed from a slice starting at
    # (a * s, c * s) is the whole result's region from (a, c), bit for bit,
    # whatever vector lane or tile row each pixel falls in.
    x, w, b = data((1, 2, 57, 83), k, 1, np.float32, 5)
    whole = fastconv.conv2d(x, w, b, stride=s, groups=2)
    for a, c in [(1, 1), (3, 5), (2, 7)]:
        part = fastconv.conv2d(x[:, :, a * s:, c * s:c * s + 41], w, b, stride=s, groups=2)
        oh, ow = part.shape[2:]
        np.testing.assert_array_equal(part, whole[:, :, a:a + oh, c:c + ow])


def test_auto_uses_the_family_and_other_shapes_the_general_kernel():
    def problem(k, s, d=1, groups=4, c=4, nd=2):
        x = np.zeros((1, c) + (9,) * nd, np.float32)
        w = np.zeros((c, c // groups) + (k,) * nd, np.float32)
        return prepare_conv(nd, x, w, None, s, 0, d, groups, "zeros", "auto", None)[0]
    assert _dispatch.depthwise_kernel(problem(3, 1))
    assert _dispatch.depthwise_kernel(problem(7, 2))
    assert _dispatch.choose_algorithm(problem(5, 2)) == "direct"
    assert not _dispatch.depthwise_kernel(problem(3, 3))          # stride 3
    assert not _dispatch.depthwise_kernel(problem(3, 1, d=2))     # dilated
    assert not _dispatch.depthwise_kernel(problem(9, 1))          # 9x9
    assert not _dispatch.depthwise_kernel(problem(3, 1, groups=2))   # 2 channels per group
    assert not _dispatch.depthwise_kernel(problem(3, 1, nd=1))    # 1-D


def test_kernel_entry_rejects_what_it_cannot_compute():
    x = np.zeros((1, 2, 8, 8), np.float32)
    out = np.zeros((1, 2, 8, 8), np.float32)
    with pytest.raises(ValueError, match="no depthwise kernel"):
        _dwconv.depthwise(x, np.zeros((2, 1, 9, 9), np.float32), None, out, 1, (4, 4), 1, 0)
    with pytest.raises(ValueError, match="no depthwise kernel"):
        _dwconv.depthwise(x, np.zeros((2, 1, 3, 3), np.float32), None, out, 3, (1, 1), 1, 0)
    with pytest.raises(ValueError, match="shapes do not match"):
        _dwconv.depthwise(x, np.zeros((3, 1, 3, 3), np.float32), None, out, 1, (1, 1), 1, 0)
    assert _dwconv.supported(5, 2) and not _dwconv.supported(5, 3)


# Maps up to 8 wide run the channel-vectorised kernel where vectors hold 8
# elements (float32 with AVX2, float64 with AVX-512); the row kernels are the
# oracle, bitwise: channel counts off the vector width (the last item part
# full, transposed lane by lane), padding forms, strides, every kernel size.
CV_CASES = [
    ((2, 13, 7, 7), 3, 1, 1), ((1, 9, 7, 5), 5, 2, 2), ((3, 17, 7, 7), 7, 1, 3),
    ((1, 8, 14, 14), 3, 2, 1), ((2, 33, 4, 4), 3, 1, 0), ((1, 1, 7, 7), 3, 1, 1),
    ((2, 20, 11, 13), 5, 2, (1, 2)), ((1, 7, 3, 3), 7, 1, 3), ((2, 5, 6, 6), 5, 2, 0),
    ((2, 16, 8, 8), 3, 1, 1), ((1, 24, 15, 16), 3, 2, 1),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(CV_CASES)))
def test_channel_vectorised_small_maps_match_the_row_kernels(case, dtype, monkeypatch):
    shape, k, s, p = CV_CASES[case]
    rng = np.random.default_rng(case)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((shape[1], 1, k, k)).astype(dtype)
    b = rng.standard_normal(shape[1]).astype(dtype)
    x0 = x.copy()
    kwargs = dict(stride=s, padding=p, groups=shape[1], algorithm="direct")
    previous = fastconv.get_num_threads()
    try:
        fastconv.set_num_threads(1)
        y = fastconv.conv2d(x, w, b, **kwargs)
        y_nobias = fastconv.conv2d(x, w, None, **kwargs)
        np.testing.assert_array_equal(x, x0)
        for t in (2, 3):
            fastconv.set_num_threads(t)
            np.testing.assert_array_equal(fastconv.conv2d(x, w, b, **kwargs), y)
        monkeypatch.setattr(_dwconv, "DWCV_MAX_OW", 0)      # the row kernels only
        np.testing.assert_array_equal(fastconv.conv2d(x, w, b, **kwargs), y)
        np.testing.assert_array_equal(fastconv.conv2d(x, w, None, **kwargs), y_nobias)
    finally:
        fastconv.set_num_threads(previous)
    ref = reference.conv2d(x, w, b, stride=s, padding=p, groups=shape[1])
    assert_conv_close(y, ref, dtype, k * k + 1)

