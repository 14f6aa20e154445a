"""The direct algorithm's grid kernel (grouped and few-channel 1-D / 2-D layers).

``fastconv._kernels._conv.direct`` runs 1-D and 2-D problems with more than one
input channel per group on the grid kernel (``fc_grid_item``, direct_impl.h):
output positions flattened over a zero-padded, phase-split grid, register
tiles of output channels x vectors of positions. Checked against the float64
reference at every SIMD level of this machine with sizes that do not divide
the tiles (channel blocks of 4, vectors of 4 to 16 lanes, tiles of 3 or 6
vectors), 1 to 64 groups, strides 1 to 3, dilation, asymmetric and large
padding; against the row kernel (3-D problems) bit for bit; for any thread
count (which changes the split into bands and channel parts) bit for bit;
and a slice of the input gives the bits of the same region of the whole.
"""
import numpy as np
import pytest
from conftest import assert_conv_close, n_terms_of

import fastconv
from fastconv import _dispatch, reference
from fastconv._args import prepare_conv
from fastconv._kernels import _conv, _gemm

LEVELS = _gemm.isa_levels()


def data(n, c, co, spatial, k, groups, dtype, seed, bias=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c) + spatial).astype(dtype)
    w = rng.standard_normal((co, c // groups) + k).astype(dtype)
    b = rng.standard_normal(co).astype(dtype) if bias else None
    return x, w, b


# (N, C_in, C_out, map, kernel, stride, padding, dilation, groups): channels
# per group 2..64 in and 1..13 out (blocks of 4 and their tails), odd maps
# (7, 13, 27) and rows narrower than a vector, 64 groups, strides 2 and 3,
# dilation, asymmetric and large padding, a map smaller than the kernel.
CASES = [
    (1, 64, 64, (7, 7), (3, 3), 1, 1, 1, 32),
    (2, 24, 36, (13, 11), (3, 3), 1, 1, 1, 4),
    (1, 16, 20, (27, 27), (3, 3), 2, 1, 1, 2),
    (1, 12, 15, (9, 17), (3, 3), 3, 2, 1, 3),
    (1, 128, 128, (5, 6), (3, 3), 1, 1, 1, 64),
    (1, 6, 13, (19, 10), (5, 3), 1, ((2, 1), (0, 3)), (2, 1), 1),
    (1, 64, 64, (8, 9), (3, 3), 2, 1, 1, 1),
    (2, 8, 10, (3, 4), (5, 5), 1, 3, 1, 2),
    (1, 8, 8, (2, 31), (1, 7), (1, 2), (0, 3), 1, 2),
    (1, 4, 7, (6, 41), (3, 3), 2, 1, 3, 1),
]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_matches_reference_at_every_level(level, dtype, case, level_guard):
    n, c, co, spatial, k, s, p, d, g = CASES[case]
    x, w, b = data(n, c, co, spatial, k, g, dtype, case, bias=case % 3 != 0)
    _gemm.isa_set(level)
    kw = dict(stride=s, padding=p, dilation=d, groups=g)
    y = fastconv.conv2d(x, w, b, algorithm="direct", **kw)
    ref = reference.conv2d(x, w, b, **kw)
    assert_conv_close(y, ref, dtype, n_terms_of(w, b), err_msg=f"level={level}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv1d_matches_reference(dtype):
    x, w, b = data(2, 32, 48, (101,), (7,), 4, dtype, 3)
    for s, d in [(1, 1), (2, 1), (1, 3)]:
        kw = dict(stride=s, padding=3, dilation=d, groups=4)
        y = fastconv.conv1d(x, w, b, algorithm="direct", **kw)
        assert_conv_close(y, reference.conv1d(x, w, b, **kw), dtype, n_terms_of(w, b))


def _row_kernel(x, w, b, stride, padding, dilation, groups, isa):
    """The same 2-D problem on the row kernel: three copies of the input stacked
    along a depth axis make it a 3-D problem (1-deep kernel), which the grid
    kernel does not take; each depth slice is the 2-D result."""
    x5 = np.ascontiguousarray(np.stack([x, x, x], axis=2))
    n, co = x.shape[0], w.shape[0]
    oh = (x.shape[2] + 2 * padding - dilation * (w.shape[2] - 1) - 1) // stride + 1
    ow = (x.shape[3] + 2 * padding - dilation * (w.shape[3] - 1) - 1) // stride + 1
    out = np.empty((n, co, 3, oh, ow), x.dtype)
    _conv.direct(x5, w[:, :, None], b, out, (1, stride, stride), (0, padding, padding),
                 (1, dilation, dilation), groups, 1, isa)
    return out


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("s,d", [(1, 1), (2, 1), (1, 2)])
def test_same_bits_as_the_row_kernel(level, s, d, level_guard):
    x, w, b = data(2, 24, 20, (15, 23), (3, 3), 4, np.float32, 9)
    _gemm.isa_set(level)
    isa = _dispatch.isa_level()
    y = fastconv.conv2d(x, w, b, stride=s, padding=1, dilation=d, groups=4, algorithm="direct")
    rows = _row_kernel(x, w, b, s, 1, d, 4, isa)
    for depth in range(3):
        np.testing.assert_array_equal(y, rows[:, :, depth])


@pytest.mark.parametrize("shape,groups,s", [((1, 256, 14, 14), 32, 1), ((3, 36, 29, 31), 6, 2),
                                            ((1, 16, 57, 9), 1, 1)])
def test_thread_count_does_not_change_bits(shape, groups, s, threads):
    x, w, b = data(shape[0], shape[1], shape[1], shape[2:], (3, 3), groups, np.float32, 4)
    kw = dict(stride=s, padding=1, groups=groups, algorithm="direct")
    fastconv.set_num_threads(1)
    y1 = fastconv.conv2d(x, w, b, **kw)
    for t in (2, 3, 8):
        fastconv.set_num_threads(t)
        np.testing.assert_array_equal(fastconv.conv2d(x, w, b, **kw), y1)


def test_split_follows_the_thread_count():
    # One 7x7 group's work on one thread is one item; on two threads it is
    # cut into bands and parts of the channel blocks (the bits stay, above).
    shapes = ((1, 64, 1, 7, 7), (64, 64, 1, 3, 3), (1, 64, 1, 7, 7), (1, 1, 1),
              (0, 1, 1), (1, 1, 1), 1)
    assert _conv.grid_blocking(*shapes, 1, 4) == (7, 1, 1)
    rows, bands, parts = _conv.grid_blocking(*shapes, 2, 4)
    assert bands * parts >= 8 and rows * bands >= 7 and parts <= 16
    # 3-D problems are the row kernel's.
    assert _conv.grid_blocking((1, 8, 3, 7, 7), (8, 8, 3, 3, 3), (1, 8, 1, 5, 5), (1, 1, 1),
                               (0, 0, 0), (1, 1, 1), 1, 1, 4) is None


def test_slice_gives_the_bits_of_the_whole():
    # Without padding, output (i, j) reads input from (i * s, j * s) on: a
    # slice starting at (a * s, c * s) gives the whole result's region from
    # (a, c), whatever vector lane, tile or band each position falls in.
    for s in (1, 2):
        x, w, b = data(1, 32, 32, (37, 45), (3, 3), 8, np.float32, 5)
        whole = fastconv.conv2d(x, w, b, stride=s, groups=8, algorithm="direct")
        for a, c in [(1, 1), (3, 5), (2, 7)]:
            part = fastconv.conv2d(x[:, :, a * s:, c * s:c * s + 21], w, b, stride=s, groups=8,
                                   algorithm="direct")
            oh, ow = part.shape[2:]
            np.testing.assert_array_equal(part, whole[:, :, a:a + oh, c:c + ow])


def test_inputs_are_not_modified():
    x, w, b = data(1, 16, 16, (9, 9), (3, 3), 4, np.float32, 2)
    copies = [x.copy(), w.copy(), b.copy()]
    fastconv.conv2d(x, w, b, padding=1, groups=4, algorithm="direct")
    for a, c in zip((x, w, b), copies):
        np.testing.assert_array_equal(a, c)


def _problem(x_shape, w_shape, groups, stride=1, nd=2):
    x = np.zeros(x_shape, np.float32)
    w = np.zeros(w_shape, np.float32)
    return prepare_conv(nd, x, w, None, stride, 1, 1, groups, "zeros", "auto", None)[0]


def test_auto_runs_grouped_layers_on_the_grid_kernel():
    choose = _dispatch.choose_algorithm
    # ResNeXt-50 32x4d's grouped 3x3 layers, stride 1 and 2, and few groups.
    assert choose(_problem((1, 256, 28, 28), (256, 8, 3, 3), 32)) == "direct"
    assert choose(_problem((1, 1024, 14, 14), (1024, 32, 3, 3), 32, stride=2)) == "direct"
    assert choose(_problem((8, 96, 14, 14), (96, 24, 3, 3), 4)) == "direct"
    assert choose(_problem((1, 512, 14, 14), (512, 64, 3, 3), 8)) == "direct"
    assert choose(_problem((1, 64, 300), (64, 16, 5), 4, nd=1)) == "direct"
    # 64 channels per group on a larger map: Winograd; one group, 1x1 and
    # 3-D layers keep their rules.
    assert choose(_problem((1, 256, 28, 28), (256, 64, 3, 3), 4)) == "winograd"
    assert choose(_problem((1, 64, 56, 56), (64, 64, 3, 3), 1)) == "winograd"
    assert not _dispatch.grouped_grid(_problem((1, 64, 9, 9), (64, 8, 1, 1), 8), 8)
    assert not _dispatch.grouped_grid(_problem((1, 16, 6, 6, 6), (16, 4, 3, 3, 3), 4, nd=3), 4)


def test_auto_runs_dense_few_channel_layers_on_the_grid_kernel():
    choose = _dispatch.choose_algorithm
    # RGB stems of 3x3 taps (MobileNetV2's, ShuffleNetV2's) and small dense
    # layers: the grid kernel.
    assert choose(_problem((1, 3, 224, 224), (32, 3, 3, 3), 1, stride=2)) == "direct"
    assert choose(_problem((1, 3, 224, 224), (24, 3, 3, 3), 1, stride=2)) == "direct"
    assert choose(_problem((8, 16, 28, 28), (64, 16, 3, 3), 1)) == "direct"
    assert choose(_problem((1, 5, 99, 99), (40, 5, 5, 5), 1, stride=2)) == "direct"
    # Beyond its bounds the other rules: more output channels, a 7x7
    # stride-2 stem, more input channels, one input channel, 1x1 taps, 1-D.
    assert choose(_problem((1, 3, 57, 57), (256, 3, 3, 3), 1)) == "im2col"
    assert choose(_problem((1, 3, 224, 224), (64, 3, 7, 7), 1, stride=2)) == "im2col"
    assert choose(_problem((1, 32, 56, 56), (64, 32, 3, 3), 1)) == "winograd"
    assert not _dispatch.dense_grid(_problem((1, 1, 64, 64), (32, 1, 3, 3), 1), 1, 32)
    assert not _dispatch.dense_grid(_problem((1, 8, 64, 64), (32, 8, 1, 1), 1), 8, 32)
    assert not _dispatch.dense_grid(_problem((1, 8, 300), (64, 8, 7), 1, nd=1), 8, 64)


@pytest.mark.parametrize("stride", [1, 2])
def test_dense_few_channel_layers_on_auto_match_the_reference(stride):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 37, 41)).astype(np.float32)
    w = rng.standard_normal((24, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(24).astype(np.float32)
    with _dispatch.recording() as log:
        y = fastconv.conv2d(x, w, b, stride=stride, padding=1)
    assert log == ["direct"]
    expected = reference.conv2d(x, w, b, stride=stride, padding=1)
    assert_conv_close(y, expected, np.float32, n_terms_of(w, b))
