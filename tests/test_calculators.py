"""Tests of the calculators: count_macs, count_params, receptive_field."""
import math

import numpy as np
import pytest

import fastconv


def test_seed_numbers():
    # 256 filters of 5 x 5 x 3 over 8 x 8 output positions.
    assert fastconv.count_macs("conv2d", (3, 12, 12), (256, 3, 5, 5)) == 1_228_800
    assert fastconv.count_macs("conv2d", (1, 3, 12, 12), (256, 3, 5, 5)) == 1_228_800
    # The depthwise-separable equivalent: 4,800 + 49,152.
    assert fastconv.count_macs("depthwise", (3, 12, 12), (3, 1, 5, 5)) == 4_800
    assert fastconv.count_macs("conv2d", (3, 8, 8), (256, 3, 1, 1)) == 49_152
    assert fastconv.count_macs("separable", (3, 12, 12), (256, 3, 5, 5)) == 53_952
    # Parameters: K*K*C*N against K*K*C + C*N.
    assert fastconv.count_params((256, 3, 5, 5)) == 5 * 5 * 3 * 256
    assert fastconv.count_params((256, 3, 5, 5), op="separable") == 5 * 5 * 3 + 3 * 256
    assert fastconv.count_params((256, 3, 5, 5), bias=True) == 5 * 5 * 3 * 256 + 256


@pytest.mark.parametrize("layers", [1, 2, 3, 10])
def test_receptive_field_of_stacked_3x3(layers):
    assert fastconv.receptive_field([{"kernel_size": 3}] * layers) == 2 * layers + 1
    assert fastconv.receptive_field([{"kernel_size": (3, 3)}] * layers) == (2 * layers + 1,) * 2


@pytest.mark.parametrize("k,d", [(3, 1), (3, 2), (3, 4), (5, 3), (1, 7)])
def test_dilated_effective_kernel(k, d):
    assert fastconv.receptive_field([{"kernel_size": k, "dilation": d}]) == k + (k - 1) * (d - 1)


def test_receptive_field_with_strides():
    # 7x7 stride 2, then 3x3 stride 2 (jump 2), then 3x3 (jump 4): 1 + 6 + 2*2 + 2*4.
    layers = [{"kernel_size": 7, "stride": 2}, {"kernel_size": 3, "stride": 2},
              {"kernel_size": 3}]
    assert fastconv.receptive_field(layers) == 19
    assert fastconv.receptive_field([]) == 1
    assert fastconv.receptive_field([{"kernel_size": (3, 5), "stride": (1, 2)},
                                     {"kernel_size": 3}]) == (5, 9)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_macs_match_the_definition(nd):
    x = (2, 8) + (9,) * nd
    w = (6, 4) + (3,) * nd
    out = fastconv.conv_output_shape(x, w, stride=2, padding=1)
    assert fastconv.count_macs(f"conv{nd}d", x, w, stride=2, padding=1, groups=2) == \
        math.prod(out) * 4 * 3 ** nd


def test_conv_transpose_and_variants():
    # Every input element scatters C_out/groups * prod(kernel) products.
    assert fastconv.count_macs("conv_transpose2d", (1, 8, 5, 5), (8, 4, 3, 3), stride=2) == \
        8 * 25 * 4 * 9
    assert fastconv.count_macs("conv_transpose1d", (8, 10), (8, 2, 4)) == 8 * 10 * 2 * 4
    # Spatially separable 5x5 (stride 1, padding 2): 5 taps along each dim.
    assert fastconv.count_macs("spatially_separable", (1, 1, 10, 10), (1, 1, 5, 5),
                               padding=2) == 100 * 5 + 100 * 5
    # Octave with alpha 0.5: high res 8x8, low res 4x4, 2 input and 2 output channels each.
    assert fastconv.count_macs("octave", (4, 8, 8), (4, 4, 3, 3), padding=1) == \
        9 * (64 * 2 * 2 * 2 + 16 * 2 * 2 * 2)
    assert fastconv.count_macs("octave", (4, 8, 8), (4, 4, 3, 3), padding=1, alpha=0) == \
        fastconv.count_macs("conv2d", (4, 8, 8), (4, 4, 3, 3), padding=1)


def test_correlate_macs_match_the_output():
    for mode in ("full", "same", "valid"):
        out = fastconv.correlate(np.ones((20, 30, 3)), np.ones((5, 4)), mode)
        assert fastconv.count_macs("correlate", (20, 30, 3), (5, 4), mode=mode) == \
            out.size * 20
        assert fastconv.count_macs("convolve", (100,), (7,), mode=mode) == \
            fastconv.convolve(np.ones(100), np.ones(7), mode).size * 7


def test_errors():
    with pytest.raises(ValueError, match="op='conv4d'"):
        fastconv.count_macs("conv4d", (1, 1, 4), (1, 1, 3))
    with pytest.raises(ValueError, match="channels"):
        fastconv.count_macs("conv2d", (1, 3, 8, 8), (4, 2, 3, 3))
    with pytest.raises(ValueError, match="conv3d needs"):
        fastconv.count_macs("conv3d", (1, 3, 8, 8), (4, 3, 3, 3))
    with pytest.raises(ValueError, match="larger than"):
        fastconv.count_macs("conv2d", (1, 3, 2, 2), (4, 3, 3, 3))
    with pytest.raises(ValueError, match="mode="):
        fastconv.count_macs("correlate", (5,), (3,), mode="middle")
    with pytest.raises(TypeError, match="input_shape"):
        fastconv.count_macs("conv1d", 5, (1, 1, 3))
    with pytest.raises(ValueError, match="non-negative"):
        fastconv.count_params((-1, 3, 3))
    with pytest.raises(ValueError, match="op="):
        fastconv.count_params((1, 3, 3), op="octave")
    with pytest.raises(ValueError, match="kernel_size"):
        fastconv.receptive_field([{"stride": 2}])
    with pytest.raises(ValueError, match="unknown keys"):
        fastconv.receptive_field([{"kernel_size": 3, "padding": 1}])
    with pytest.raises(ValueError, match=">= 1"):
        fastconv.receptive_field([{"kernel_size": 0}])
    with pytest.raises(ValueError, match="different lengths"):
        fastconv.receptive_field([{"kernel_size": (3, 3)}, {"kernel_size": (3, 3, 3)}])
