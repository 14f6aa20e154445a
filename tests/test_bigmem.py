"""Arrays of more than 2**31 elements: 64-bit indexing, really exercised.

Each test makes an input, an output or both of more than 2**31 float32
elements (8 GiB and more) and checks the result against the same
computation done in slices of fewer than 2**31 elements, or against an
exact description of the result: an index wrapped at 32 bits would read or
write the wrong element (or crash).

The tests need a lot of memory: each checks ``MemAvailable`` first (with a
margin) and is skipped when it is short, and all are skipped with
``FASTCONV_SKIP_BIGMEM=1``. They run one at a time; each frees its arrays.
"""
import gc
import os

import numpy as np
import pytest

import fastconv

BIG = 2 ** 31
GIB = 2 ** 30
MARGIN = 3 * GIB

pytestmark = pytest.mark.skipif(os.environ.get("FASTCONV_SKIP_BIGMEM", "0") == "1",
                                reason="FASTCONV_SKIP_BIGMEM=1")


def _available():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:           # pragma: no cover - non-Linux
        pass
    return 0


def need(nbytes):
    gc.collect()
    have = _available()
    if have < nbytes + MARGIN:
        pytest.skip(f"needs {(nbytes + MARGIN) / GIB:.1f} GiB of available memory, "
                    f"{have / GIB:.1f} GiB available")


def _pattern_fill(a, period=1021, seed=0):
    """Fill a C-contiguous array with a random pattern of a prime period
    (cheap for billions of elements, and every index class distinct)."""
    flat = a.reshape(-1)
    pattern = np.random.default_rng(seed).standard_normal(period).astype(a.dtype)
    whole = flat.size // period
    flat[:whole * period].reshape(whole, period)[...] = pattern
    flat[whole * period:] = pattern[:flat.size - whole * period]
    return a


@pytest.fixture(scope="class")
def long_signal():
    """(1, 1, L) float32 with L past 2**31 (8 GiB), shared by the 1-D tests."""
    length = BIG + 2 ** 20 + 5
    need(4 * length)
    x = _pattern_fill(np.empty((1, 1, length), np.float32))
    yield x
    del x
    gc.collect()


STRIDE = 4099
TAPS = 5


class TestLongSignal:
    """The 1-D tests share one 8 GiB signal, freed after them."""

    @pytest.mark.parametrize("algorithm", ["direct", "im2col"])
    def test_conv1d_input_past_2_31(self, long_signal, algorithm):
        x = long_signal
        w = np.random.default_rng(1).standard_normal((1, 1, TAPS)).astype(np.float32)
        y = fastconv.conv1d(x, w, np.float32([0.25]), stride=STRIDE, algorithm=algorithm)
        n_out = (x.shape[-1] - TAPS) // STRIDE + 1
        assert y.shape == (1, 1, n_out) and (n_out - 1) * STRIDE + TAPS - 1 >= BIG
        chunk = 2 ** 16                      # outputs per slice: 2**28 inputs
        for p0 in range(0, n_out, chunk):
            p1 = min(n_out, p0 + chunk)
            part = x[..., p0 * STRIDE:(p1 - 1) * STRIDE + TAPS]
            expected = fastconv.conv1d(part, w, np.float32([0.25]), stride=STRIDE,
                                       algorithm=algorithm)
            np.testing.assert_array_equal(y[..., p0:p1], expected,
                                          err_msg=f"outputs {p0}:{p1}")

    def test_conv1d_weight_gradient_of_an_input_past_2_31(self, long_signal):
        x = long_signal
        n_out = (x.shape[-1] - TAPS) // STRIDE + 1
        gy = np.random.default_rng(2).standard_normal((1, 1, n_out)).astype(np.float32)
        gw = fastconv.grad.conv1d_weight(x, (1, 1, TAPS), gy, stride=STRIDE)
        # gw[t] = sum_p gy[p] x[p * stride + t]: strided views, summed in float64.
        flat = x.reshape(-1)
        expected = [np.dot(gy[0, 0].astype(np.float64),
                           flat[t:t + (n_out - 1) * STRIDE + 1:STRIDE].astype(np.float64))
                    for t in range(TAPS)]
        scale = np.sqrt(n_out) * np.max(np.abs(expected))
        np.testing.assert_allclose(gw[0, 0], expected, rtol=0, atol=1e-5 * scale)


@pytest.mark.parametrize("algorithm", ["direct", "im2col", "winograd"])
def test_conv2d_output_past_2_31(algorithm):
    """A small image padded into an output of more than 2**31 elements: the
    centre is the unpadded convolution, every other element is the bias."""
    side = 46342                                     # side**2 > 2**31
    need(4 * side * side)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 1, 300, 300)).astype(np.float32)
    w = rng.standard_normal((1, 1, 3, 3)).astype(np.float32)
    pad = (side - 300 + 2) // 2
    y = fastconv.conv2d(x, w, np.float32([0.5]), padding=pad, algorithm=algorithm)
    assert y.shape == (1, 1, side, side) and y.size > BIG
    # The outputs whose taps reach the image: those of padding 2, 302 x 302.
    centre = fastconv.conv2d(x, w, np.float32([0.5]), padding=2, algorithm=algorithm)
    c0 = pad - 2
    np.testing.assert_array_equal(y[..., c0:c0 + 302, c0:c0 + 302], centre)
    y[..., c0:c0 + 302, c0:c0 + 302] = 0.5
    for r0 in range(0, side, 4096):                  # in slices, to spare memory
        assert np.all(y[0, 0, r0:r0 + 4096] == 0.5), f"rows {r0}:{r0 + 4096}"
    del y
    gc.collect()


def test_conv_transpose1d_output_past_2_31():
    """Each input element lands on its own ``TAPS`` outputs (stride > taps):
    ``y[i * stride + t] = x[i] * w[t]``, zero elsewhere."""
    n_in, taps = 2 ** 16 + 1, 3
    stride = 32771
    length = (n_in - 1) * stride + taps
    need(4 * length)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 1, n_in)).astype(np.float32)
    w = rng.standard_normal((1, 1, taps)).astype(np.float32)
    y = fastconv.conv_transpose1d(x, w, stride=stride, algorithm="im2col")
    assert y.shape == (1, 1, length) and length > BIG
    flat = y.reshape(-1)
    hits = flat[:(n_in - 1) * stride].reshape(n_in - 1, stride)
    np.testing.assert_array_equal(hits[:, :taps], x[0, 0, :-1, None] * w[0, 0])
    for r0 in range(0, n_in - 1, 4096):
        assert not np.any(hits[r0:r0 + 4096, taps:]), f"rows {r0}:{r0 + 4096}"
    np.testing.assert_array_equal(flat[(n_in - 1) * stride:], x[0, 0, -1] * w[0, 0])
    del y, flat, hits
    gc.collect()


def test_correlate_image_past_2_31():
    """A (17, 2**27) image: each row of the 'valid' result equals the
    correlation of the 16 rows it reads (a slice of exactly 2**31 elements)."""
    rows, cols = 17, 2 ** 27
    need(4 * rows * cols + 8 * cols + 4 * cols)
    image = _pattern_fill(np.empty((rows, cols), np.float32), seed=5)
    kernel = np.random.default_rng(6).standard_normal((16, 1)).astype(np.float32)
    y = fastconv.correlate(image, kernel, mode="valid", algorithm="direct")
    assert y.shape == (2, cols) and image.size > BIG
    for r in range(2):
        part = fastconv.correlate(image[r:r + 16], kernel, mode="valid", algorithm="direct")
        np.testing.assert_array_equal(y[r:r + 1], part, err_msg=f"row {r}")
        del part
    del image, y
    gc.collect()
