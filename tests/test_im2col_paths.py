"""The im2col algorithm's GEMM paths: weights read in place or packed, output
channels split among threads on small maps, B's panels kept in L2 (few
columns), and 1x1 layers whose input is read in place.

Every path sums each element in the same order: a plain call (weights read
in place) and a plan (weights packed once) give the same bits, at every SIMD
level and any thread count.
"""
import numpy as np
import pytest
from conftest import assert_conv_close, n_terms_of

import fastconv
from fastconv import reference
from fastconv._kernels import _gemm

LEVELS = _gemm.isa_levels()


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


# (x shape, weight shape, kwargs): 1x1 on 7x7 maps with many channels (few
# columns: A panel outer, B in L2), sizes off the register tile (M = 97, 13,
# 3; N = 49, 9), strided and padded 3x3, a group count.
CASES = [
    ((1, 96, 7, 7), (97, 96, 1, 1), {}),
    ((2, 37, 3, 3), (13, 37, 1, 1), {}),
    ((1, 64, 14, 14), (101, 64, 3, 3), dict(padding=1)),
    ((1, 24, 9, 11), (40, 12, 3, 3), dict(padding=1, stride=2, groups=2)),
    ((1, 300, 5, 5), (127, 300, 1, 1), {}),
    ((1, 16, 7, 7), (3, 16, 3, 3), dict(padding=1)),
    # 1x1 with few output channels: the input's columns packed block by block
    ((2, 64, 37, 41), (3, 64, 1, 1), {}),
    ((1, 33, 97, 5), (15, 33, 1, 1), {}),
]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_in_place_and_packed_weights_agree_bitwise(level, dtype, case, level_guard):
    xs, ws, kwargs = CASES[case]
    rng = np.random.default_rng(case)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    _gemm.isa_set(level)
    y = fastconv.conv2d(x, w, b, algorithm="im2col", **kwargs)
    plan = fastconv.plan_conv2d(w, xs, b, algorithm="im2col", **kwargs)
    np.testing.assert_array_equal(plan(x), y)
    ref = reference.conv2d(x, w, b, **kwargs)
    assert_conv_close(y, ref, dtype, n_terms_of(w, b))


@pytest.mark.parametrize("case", range(len(CASES)))
def test_output_channel_split_does_not_change_bits(case, threads_guard):
    xs, ws, kwargs = CASES[case]
    rng = np.random.default_rng(case)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    fastconv.set_num_threads(1)
    y1 = fastconv.conv2d(x, w, algorithm="im2col", **kwargs)
    for t in (2, 3, 5):
        fastconv.set_num_threads(t)
        np.testing.assert_array_equal(fastconv.conv2d(x, w, algorithm="im2col", **kwargs), y1)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_1x1_with_padding_after_only_is_not_read_in_place(nd):
    # No padding before, some after: the output is larger than the input,
    # so the input cannot be the GEMM's B as it is (it was read past its end).
    rng = np.random.default_rng(nd)
    x = rng.standard_normal((1, 3) + (2,) * nd).astype(np.float32)
    w = rng.standard_normal((5, 3) + (1,) * nd).astype(np.float32)
    padding = ((0, 1),) * nd
    fn = getattr(fastconv, f"conv{nd}d")
    y = fn(x, w, padding=padding, algorithm="im2col")
    ref = getattr(reference, f"conv{nd}d")(x, w, padding=padding)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    # the padded positions are exactly zero (no bias)
    assert np.all(y[(Ellipsis,) + (slice(2, None),) * 1] == 0)


def test_auto_runs_wide_1x1_layers_with_few_output_channels_on_im2col():
    from fastconv import _dispatch
    from fastconv._args import prepare_conv

    def problem(c_in, c_out, k=1):
        x = np.zeros((1, c_in, 9, 9), np.float32)
        w = np.zeros((c_out, c_in, k, k), np.float32)
        return prepare_conv(2, x, w, None, 1, 0, 1, 1, "zeros", "auto", None)[0]
    assert _dispatch.choose_algorithm(problem(64, 2)) == "im2col"
    assert _dispatch.choose_algorithm(problem(32, 1)) == "im2col"
    assert _dispatch.choose_algorithm(problem(16, 2)) == "direct"       # short reduction
    assert _dispatch.choose_algorithm(problem(64, 2, k=3)) == "direct"  # not 1x1


@pytest.fixture
def fold_always(monkeypatch):
    """Fold every batch of a 1x1 layer (whatever the copies cost)."""
    from fastconv import _dispatch
    monkeypatch.setattr(_dispatch, "FOLD_COPY_COST", 0)
    _dispatch._shapes.clear()
    yield
    _dispatch._shapes.clear()


# (x shape, weight shape, kwargs): 1x1 layers whose batch im2col runs as one
# image; maps whose pixels leave the last column panel part empty, strides
# 1 to 3 (and per dim), groups, 1-D and 3-D.
FOLD_CASES = [
    ((3, 40, 7, 7), (33, 40, 1, 1), {}),
    ((4, 24, 13, 13), (16, 24, 1, 1), dict(stride=2)),
    ((2, 18, 11, 9), (21, 6, 1, 1), dict(stride=(3, 2), groups=3)),
    ((5, 17, 5, 3), (7, 17, 1, 1), {}),
    ((3, 9, 29), (11, 9, 1), dict(stride=2)),
    ((2, 8, 5, 6, 7), (10, 8, 1, 1, 1), dict(stride=(1, 2, 2))),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(FOLD_CASES)))
def test_folded_batch_gives_the_bits_of_image_by_image(case, dtype, fold_always,
                                                       threads_guard, monkeypatch):
    from fastconv import _dispatch
    from fastconv._args import prepare_conv
    xs, ws, kwargs = FOLD_CASES[case]
    nd = len(xs) - 2
    fn = getattr(fastconv, f"conv{nd}d")
    rng = np.random.default_rng(100 + case)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    x0 = x.copy()
    problem = prepare_conv(nd, x, w, b, kwargs.get("stride", 1), 0, 1, kwargs.get("groups", 1),
                           "zeros", "im2col", None)[0]
    assert _dispatch.folds_batch(problem)
    y = fn(x, w, b, algorithm="im2col", **kwargs)
    np.testing.assert_array_equal(x, x0)
    # each image alone (a batch of one is never folded) gives the same bits,
    # at any thread count, and so does a plan (packed weights) and out=
    for t in (1, 2, 3):
        fastconv.set_num_threads(t)
        for i in range(xs[0]):
            np.testing.assert_array_equal(fn(x[i:i + 1], w, b, algorithm="im2col", **kwargs),
                                          y[i:i + 1])
        np.testing.assert_array_equal(fn(x, w, b, algorithm="im2col", **kwargs), y)
    plan = getattr(fastconv, f"plan_conv{nd}d")(w, xs, b, algorithm="im2col", **kwargs)
    np.testing.assert_array_equal(plan(x), y)
    out = np.full_like(y, np.nan)
    fn(x, w, b, algorithm="im2col", out=out, **kwargs)
    np.testing.assert_array_equal(out, y)
    # a batch folded a run of images at a time (2 images, and 1, per run)
    for run_images in (2, 1):
        per_image = int(np.prod(y.shape[2:])) * (xs[1] + ws[0]) * x.itemsize
        monkeypatch.setattr(_dispatch, "FOLD_RUN_BYTES", run_images * per_image)
        np.testing.assert_array_equal(fn(x, w, b, algorithm="im2col", **kwargs), y)
    monkeypatch.undo()
    ref = getattr(reference, f"conv{nd}d")(x, w, b, **kwargs)
    assert_conv_close(y, ref, dtype, n_terms_of(w, b))


def test_fold_rule():
    from fastconv import _dispatch
    from fastconv._args import prepare_conv

    def folds(n, c_in, c_out, size, stride=1, padding=0, k=1):
        x = np.zeros((n, c_in, size, size), np.float32)
        w = np.zeros((c_out, c_in, k, k), np.float32)
        return _dispatch.folds_batch(
            prepare_conv(2, x, w, None, stride, padding, 1, 1, "zeros", "auto", None)[0])
    nr = _gemm.register_tile(np.float32)[1]
    if nr != 16:
        pytest.skip(f"the figures below are for 16-column panels, this level has {nr}")
    assert folds(8, 1024, 2048, 14, stride=2)         # 7 x 7 outputs: 49 of 64 columns
    assert folds(8, 512, 2048, 7)
    assert not folds(1, 1024, 2048, 14, stride=2)     # one image: nothing to fold
    assert not folds(8, 160, 960, 7)                  # few channels: the copies cost more
    assert not folds(8, 1024, 256, 14)                # 196 of 208 columns used
    assert not folds(8, 1024, 1024, 8)                # 64 pixels: whole panels already
    assert not folds(8, 1024, 2048, 7, padding=1)     # padded
    assert not folds(8, 1024, 2048, 7, k=3)           # not 1x1


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 5, 7), (1, 37, 13), (3, 19, 64), (1, 40, 6)])
def test_pack_a_transposed_is_pack_a_of_the_transpose(level, dtype, shape, level_guard):
    from fastconv._dispatch import isa_level
    from fastconv._kernels import _conv
    at = np.random.default_rng(sum(shape)).standard_normal(shape).astype(dtype)
    at0 = at.copy()
    _gemm.isa_set(level)
    isa = isa_level()
    expected = _conv.pack_a(np.ascontiguousarray(at.transpose(0, 2, 1)), isa)
    np.testing.assert_array_equal(_conv.pack_a_transposed(at, isa), expected)
    np.testing.assert_array_equal(at, at0)
