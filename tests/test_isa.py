"""Every SIMD level this machine supports computes correct convolutions.

The direct and depthwise kernels and the GEMM are compiled once per level
(generic, AVX2+FMA, AVX-512) and chosen at run time; the default level is the
best one, so without these tests the lower levels would never run here.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import assert_conv_close, n_terms_of

import fastconv
from fastconv import reference
from fastconv._kernels import _gemm

LEVELS = _gemm.isa_levels()

# (nd, x shape, weight shape, kwargs): the kernels' distinct paths — in-row
# and buffered chunks, strides, dilation, partial channel blocks, depthwise
# rows, im2col panels with tails.
CASES = [
    (2, (2, 7, 29, 31), (13, 7, 3, 3), dict(padding=1)),
    (2, (1, 6, 23, 37), (6, 1, 3, 3), dict(padding=1, groups=6)),
    (2, (1, 6, 23, 37), (12, 1, 5, 3), dict(padding=(2, 1), groups=6, stride=(1, 2))),
    (2, (1, 5, 30, 41), (9, 5, 3, 4), dict(stride=2, dilation=(1, 2), padding="same")),
    (1, (3, 4, 101), (6, 2, 7), dict(groups=2, dilation=3, padding=((4, 1),))),
    (3, (1, 3, 6, 9, 19), (5, 3, 3, 2, 3), dict(padding=1, stride=(1, 2, 1))),
]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("algorithm", ["direct", "im2col"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_every_level_matches_reference(level, algorithm, dtype, case, level_guard):
    nd, xs, ws, kwargs = CASES[case]
    rng = np.random.default_rng(case)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    _gemm.isa_set(level)
    y = getattr(fastconv, f"conv{nd}d")(x, w, b, algorithm=algorithm, **kwargs)
    ref = getattr(reference, f"conv{nd}d")(x, w, b, **kwargs)
    assert y.dtype == dtype
    assert_conv_close(y, ref, dtype, n_terms_of(w, b), err_msg=f"level={level}")


def test_levels_start_at_generic_and_include_the_one_in_use():
    assert LEVELS[0] == "generic"
    assert _gemm.isa_get() in LEVELS
    assert fastconv.get_config()["isa"] == _gemm.isa_get()


def _config_isa_with(value):
    env = dict(os.environ, FASTCONV_ISA=value)
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastconv.__file__)))
    code = "import fastconv; print(fastconv.get_config()['isa'])"
    # The import's warning (if any) goes to stderr; cwd: see test_threads._run_python.
    result = subprocess.run([sys.executable, "-W", "always", "-c", code], env=env, cwd=root,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip(), result.stderr


@pytest.mark.parametrize("level", LEVELS)
def test_fastconv_isa_environment_selects_a_supported_level(level):
    isa, _ = _config_isa_with(level)
    assert isa == level


def test_fastconv_isa_environment_refuses_unknown_or_unsupported_levels():
    best = _gemm.isa_supported()
    isa, err = _config_isa_with("sse9")
    assert isa == best and "FASTCONV_ISA" in err and "sse9" in err
    if best != "avx512":
        isa, err = _config_isa_with("avx512")
        assert isa == best and "not supported" in err
