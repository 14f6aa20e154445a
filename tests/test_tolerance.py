"""The convolution tolerance of conftest.assert_conv_close can fail.

Every fastconv-versus-reference comparison of the suite goes through
``assert_conv_close``: here it must reject results a plausible bug would
produce (a term left out of every sum, the inputs rounded to a narrower
type before a correct computation), while fastconv's own result passes.
"""
import numpy as np
import pytest
from conftest import assert_conv_close, n_terms_of, tolerance

import fastconv
from fastconv import reference

NARROWER = {np.dtype(np.float32): np.float16, np.dtype(np.float64): np.float32}
PROBLEMS = [
    # nd, x shape, weight shape, kwargs
    (1, (2, 5, 97), (7, 5, 5), dict(padding=2)),
    (2, (2, 3, 13, 17), (5, 3, 3, 3), dict(padding=1)),
    (2, (1, 64, 15, 15), (32, 64, 3, 3), dict(padding=1)),
    (3, (1, 4, 5, 7, 9), (6, 2, 3, 3, 3), dict(padding=1, groups=2)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: f"{p[0]}d-{p[2]}")
def test_tolerance_rejects_degraded_results(problem, dtype, rng):
    nd, x_shape, w_shape, kwargs = problem
    conv, ref = getattr(fastconv, f"conv{nd}d"), getattr(reference, f"conv{nd}d")
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    expected = ref(x, w, b, **kwargs)
    terms = n_terms_of(w, b)
    for algorithm in ("direct", "im2col"):
        assert_conv_close(conv(x, w, b, algorithm=algorithm, **kwargs), expected, dtype, terms)

    narrow = NARROWER[np.dtype(dtype)]
    first_tap_dropped = w.copy()
    first_tap_dropped[:, 0, (0,) * nd] = 0      # one product left out of every sum
    degraded = {
        f"inputs rounded to {np.dtype(narrow).name}":
            ref(x.astype(narrow), w.astype(narrow), b.astype(narrow), **kwargs),
        "a term left out": ref(x, first_tap_dropped, b, **kwargs),
        "the bias left out": ref(x, w, None, **kwargs),
    }
    for name, result in degraded.items():
        with pytest.raises(AssertionError):
            assert_conv_close(result.astype(dtype), expected, dtype, terms, err_msg=name)


def test_tolerance_grows_with_the_terms_and_the_scale():
    assert tolerance(np.float32, 100, 0.5) == pytest.approx(10 * tolerance(np.float32, 1, 1.0))
    assert tolerance(np.float64, 4, 3.0) == pytest.approx(6 * tolerance(np.float64, 1, 1.0))
    assert tolerance(np.float64, 1, 1.0) < 1e-15 < tolerance(np.float32, 1, 1.0) < 1e-6
