"""1x1 convolutions over few pixels: the matrix-times-vectors kernel.

``auto`` runs a 1x1 layer with stride 1 and no
padding whose batch holds at most ``POINTWISE_GEMV_MAX_PIXELS`` output pixels
on ``fastconv._kernels._pointwise`` (each output a dot product of a weight
row and a pixel's channels). Checked against the float64 reference at every
SIMD level of this machine, with channel counts that do not divide the
vectors or the register tiles (1, 3, 5, 97, 1153), 1 to 20 pixels over the
batch, groups, both dtypes, channels-last, ``out=``; 1 and 2 threads bit for
bit; inputs never modified; an explicit ``algorithm="im2col"`` keeps the
GEMM, so regions of few pixels give the bits of the whole (chunked runs).
"""
import numpy as np
import pytest
from conftest import assert_conv_close, n_terms_of

import fastconv
from fastconv import _dispatch, reference
from fastconv._args import prepare_conv
from fastconv._kernels import _gemm, _pointwise

LEVELS = _gemm.isa_levels()
DTYPES = [np.float32, np.float64]


def data(rng, n, c_in, c_out, spatial, groups, dtype, bias=True):
    x = rng.standard_normal((n, c_in) + spatial).astype(dtype)
    w = rng.standard_normal((c_out, c_in // groups) + (1,) * len(spatial)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype) if bias else None
    return x, w, b


def problem_of(x, w, groups=1):
    nd = x.ndim - 2
    return prepare_conv(nd, x, w, None, 1, 0, 1, groups, "zeros", "auto", None)[0]


# (C_in, C_out, groups): the squeeze-and-excitation pairs, channel counts
# that do not divide the vectors or the 8/4/2/1-row tiles, groups.
CHANNELS = [(1, 1, 1), (3, 5, 1), (5, 3, 1), (97, 5, 1), (5, 97, 1), (1153, 3, 1),
            (3, 1153, 1), (96, 4, 1), (4, 96, 1), (6, 9, 3), (97 * 2, 10, 2), (12, 12, 12)]
# (N, H, W): 1 to 20 pixels over the batch (above POINTWISE_GEMV_MAX_PIXELS
# the GEMM runs: the same results through the other path).
MAPS = [(1, 1, 1), (2, 1, 1), (1, 1, 3), (3, 1, 1), (1, 2, 2), (1, 1, 5), (1, 3, 3),
        (2, 2, 3), (1, 4, 4), (5, 2, 2), (1, 1, 17), (4, 1, 5)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c_in,c_out,groups", CHANNELS)
def test_matches_reference(rng, dtype, c_in, c_out, groups):
    for n, h, w_ in MAPS:
        x, w, b = data(rng, n, c_in, c_out, (h, w_), groups, dtype)
        copies = [a.copy() for a in (x, w, b)]
        got = fastconv.conv2d(x, w, b, groups=groups)
        expected = reference.conv2d(x, w, b, groups=groups)
        assert_conv_close(got, expected, dtype, n_terms_of(w, b), f"map {(n, h, w_)}")
        for a, c in zip((x, w, b), copies):
            np.testing.assert_array_equal(a, c)
        small = n * h * w_ <= _dispatch.POINTWISE_GEMV_MAX_PIXELS
        assert _dispatch.pointwise_kernel(problem_of(x, w, groups)) == small


@pytest.mark.usefixtures("level_guard")
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_level(rng, level, dtype):
    """The kernel itself at every level, beyond the rule's pixel counts too
    (its tiles of 2 pixels and the 1-pixel tail)."""
    _gemm.isa_set(level)
    for c_in, c_out, groups in [(1153, 97, 1), (97, 1153, 1), (10, 6, 2), (3, 5, 1)]:
        for pixels in (1, 2, 3, 7, 16):
            x, w, b = data(rng, 1, c_in, c_out, (pixels,), groups, dtype)
            out = np.full((1, c_out, pixels), np.nan, dtype)
            _pointwise.pointwise(x, w[:, :, 0], b, out, groups, 1, _dispatch.isa_level())
            expected = reference.conv1d(x, w, b, groups=groups)
            assert_conv_close(out, expected, dtype, n_terms_of(w, b),
                              f"level {level}, {pixels} pixels")
            if pixels <= _dispatch.POINTWISE_GEMV_MAX_PIXELS:
                assert _dispatch.rule(problem_of(x, w, groups)) == "im2col"
                np.testing.assert_array_equal(fastconv.conv1d(x, w, b, groups=groups), out)


@pytest.mark.parametrize("dtype", DTYPES)
def test_no_bias_3d_and_1d(rng, dtype):
    for spatial in [(1,), (5,), (1, 1, 1), (2, 2, 2)]:
        x, w, _ = data(rng, 2, 97, 5, spatial, 1, dtype, bias=False)
        conv = getattr(fastconv, f"conv{len(spatial)}d")
        ref = getattr(reference, f"conv{len(spatial)}d")
        assert_conv_close(conv(x, w), ref(x, w), dtype, n_terms_of(w), f"{spatial}")
        # Unbatched input (C_in, *spatial): the result has no batch dim either.
        assert_conv_close(conv(x[1], w), ref(x[1:], w)[0], dtype, n_terms_of(w),
                          f"unbatched {spatial}")


@pytest.mark.usefixtures("threads")
@pytest.mark.parametrize("dtype", DTYPES)
def test_threads_bitwise(rng, dtype):
    for pixels in (1, 3, 4, 16):
        x, w, b = data(rng, 1, 1153, 97 * 3, (pixels,), 1, dtype)
        kernel, public = [], []
        for t in (1, 2):
            out = np.full((1, 97 * 3, pixels), np.nan, dtype)
            _pointwise.pointwise(x, w[:, :, 0], b, out, 1, t, _dispatch.isa_level())
            kernel.append(out)
            fastconv.set_num_threads(t)
            public.append(fastconv.conv1d(x, w, b))
        np.testing.assert_array_equal(kernel[1], kernel[0])
        np.testing.assert_array_equal(public[1], public[0])
        if pixels <= _dispatch.POINTWISE_GEMV_MAX_PIXELS:
            np.testing.assert_array_equal(public[0], kernel[0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_channels_last_and_out(rng, dtype):
    for n, h, w_ in [(1, 1, 1), (1, 2, 2), (2, 1, 3), (1, 3, 3)]:
        x, w, b = data(rng, n, 97, 5, (h, w_), 1, dtype)
        expected = reference.conv2d(x, w, b)
        x_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        got = fastconv.conv2d(x_last, w, b, layout="channels_last")
        assert_conv_close(np.ascontiguousarray(got.transpose(0, 3, 1, 2)), expected, dtype,
                          n_terms_of(w, b), "channels_last")
        out = np.full(expected.shape, np.nan, dtype)
        assert fastconv.conv2d(x, w, b, out=out) is out
        assert_conv_close(out, expected, dtype, n_terms_of(w, b), "out=")
        strided = np.full(expected.shape[:1] + (2 * expected.shape[1],) + expected.shape[2:],
                          np.nan, dtype)[:, ::2]
        fastconv.conv2d(x, w, b, out=strided)
        assert_conv_close(strided, expected, dtype, n_terms_of(w, b), "strided out=")


def test_not_for_padding_stride_or_larger_maps(rng):
    x, w, _ = data(rng, 1, 8, 8, (2, 2), 1, np.float32)
    p = prepare_conv(2, x, w, None, 2, 0, 1, 1, "zeros", "auto", None)[0]
    assert not _dispatch.pointwise_kernel(p)
    p = prepare_conv(2, x, w, None, 1, 1, 1, 1, "zeros", "auto", None)[0]
    assert not _dispatch.pointwise_kernel(p)
    x, w, _ = data(rng, 1, 8, 8, (5, 5), 1, np.float32)
    assert not _dispatch.pointwise_kernel(problem_of(x, w))


def test_kernel_rejects_mismatched_shapes():
    x = np.zeros((1, 6, 2), np.float32)
    with pytest.raises(ValueError, match="shapes do not match"):
        _pointwise.pointwise(x, np.zeros((4, 4), np.float32), None,
                             np.zeros((1, 4, 2), np.float32), 1, 1, 0)
    with pytest.raises(ValueError, match="bias has 3 values for 4 output channels"):
        _pointwise.pointwise(x, np.zeros((4, 6), np.float32), np.zeros(3, np.float32),
                             np.zeros((1, 4, 2), np.float32), 1, 1, 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_explicit_im2col_regions_bitwise(rng, dtype):
    """A region of 4 or fewer pixels with algorithm="im2col" (what a chunked run
    pins for its blocks) gives the bits of the same region of the whole map."""
    x, w, b = data(rng, 1, 97, 5, (6, 7), 1, dtype)
    whole = fastconv.conv2d(x, w, b, algorithm="im2col")
    for rows, cols in [(slice(0, 1), slice(0, 1)), (slice(2, 4), slice(3, 5)),
                       (slice(5, 6), slice(4, 7))]:
        part = fastconv.conv2d(np.ascontiguousarray(x[:, :, rows, cols]), w, b,
                               algorithm="im2col")
        np.testing.assert_array_equal(part, whole[:, :, rows, cols])


def test_dask_blocks_bitwise(rng):
    """A chunked run of a layer of few pixels gives the in-memory bits (its
    blocks take the same matrix-times-vectors form), and so does one of a
    larger map whose blocks hold few pixels (they keep the GEMM)."""
    da = pytest.importorskip("dask.array")
    import dask
    from fastconv import dask as fd
    for n, h, w_ in [(1, 1, 1), (1, 2, 2), (2, 1, 2), (1, 6, 7)]:
        x, w, b = data(rng, n, 97, 6, (h, w_), 1, np.float32)
        lazy = fd.conv2d(da.from_array(x, chunks=(1, 97, 1, 2)), w, b, channel_chunks=4)
        with dask.config.set(scheduler="sync"):
            got = lazy.compute()
        np.testing.assert_array_equal(got, fastconv.conv2d(x, w, b), err_msg=f"{(n, h, w_)}")
