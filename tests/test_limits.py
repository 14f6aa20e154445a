"""Absurd sizes fail early and clearly; failed allocations are MemoryErrors.

* Padding, dilation, stride, kernel or shape arguments whose arrays (real,
  or a padded input the kernels read in place) exceed 2**62 elements raise
  ValueError naming the argument and the size; arrays larger than the
  machine's memory raise MemoryError; both before anything is allocated
  (the calls below would need terabytes or more, and return at once).
* A per-thread workspace whose allocation fails inside a parallel region
  ends as MemoryError (a test hook makes them fail; a real memory limit,
  ``RLIMIT_AS``, in a child process), every thread is given back and the
  next call is correct.
"""
import re
import time

import numpy as np
import pytest
from scripts import run_script

import fastconv
from fastconv._build_info import BUILD_INFO
from fastconv._kernels import _gemm, _openmp

X1 = np.ones((1, 2, 9), np.float32)
X2 = np.ones((1, 2, 9, 7), np.float32)
W1 = np.ones((3, 2, 3), np.float32)
W2 = np.ones((3, 2, 3, 3), np.float32)
G = fastconv.grad

# (call, exception, words the message must contain)
ABSURD = [
    (lambda: fastconv.conv2d(X2, W2, padding=2 ** 40), ValueError,
     ["padding=1099511627776", "elements"]),
    (lambda: fastconv.conv2d(X2, W2, padding=2 ** 20), MemoryError,
     ["padding=1048576", "TiB", "memory"]),
    (lambda: fastconv.conv2d(X2, W2, padding=2 ** 40, algorithm="im2col"), ValueError,
     ["padding="]),
    (lambda: fastconv.conv2d(X2, W2, padding=2 ** 40, padding_mode="replicate"), ValueError,
     ["padding="]),
    (lambda: fastconv.conv2d(X2, W2, padding=2 ** 16, padding_mode="replicate"), MemoryError,
     ["padding=65536", "memory"]),
    # Huge padding and dilation with a small output: the padded input is read
    # in place (zero padding), and its indices would overflow 64 bits.
    (lambda: fastconv.conv2d(X2, W2, padding=2 ** 62, dilation=2 ** 62), ValueError,
     ["padding=4611686018427387904", "64-bit"]),
    (lambda: fastconv.conv1d(X1, W1, padding=2 ** 61, dilation=2 ** 61, stride=2 ** 61),
     ValueError, ["padding=", "64-bit"]),
    (lambda: fastconv.conv1d(X1, W1, padding=((0, 2 ** 63),)), ValueError, ["padding="]),
    (lambda: fastconv.conv3d(np.ones((1, 1, 2, 2, 2)), np.ones((1, 1, 1, 1, 1)),
                             padding=2 ** 21), ValueError, ["padding=", "elements"]),
    (lambda: fastconv.depthwise_conv2d(X2, np.ones((2, 1, 3, 3)), padding=2 ** 30), ValueError,
     ["padding="]),
    (lambda: fastconv.separable_conv2d(X2, np.ones((2, 1, 3, 3)), np.ones((4, 2, 1, 1)),
                                       padding=2 ** 20), MemoryError, ["padding="]),
    (lambda: fastconv.conv_transpose1d(X1, np.ones((2, 1, 3)), stride=2 ** 40), MemoryError,
     ["stride=(1099511627776,)", "memory"]),
    (lambda: fastconv.conv_transpose1d(X1, np.ones((2, 1, 3)), stride=2 ** 61), ValueError,
     ["stride=", "64-bit"]),
    (lambda: fastconv.conv_transpose2d(X2, np.ones((2, 1, 3, 3)), dilation=2 ** 31),
     ValueError, ["dilation=", "elements"]),
    (lambda: fastconv.conv_transpose2d(X2, np.ones((2, 1, 3, 3)), dilation=2 ** 20),
     MemoryError, ["dilation="]),
    (lambda: fastconv.plan_conv2d(W2, (1, 2, 9, 7), padding=2 ** 40), ValueError,
     ["padding="]),
    (lambda: G.conv2d_input((1, 2, 2 ** 40, 2 ** 40), W2, np.ones((1, 3, 1, 1)),
                            stride=2 ** 40), ValueError, ["input_shape", "elements"]),
    (lambda: G.conv2d_input((1, 2, 2 ** 20, 2 ** 20), W2, np.ones((1, 3, 1, 1)),
                            stride=2 ** 20), MemoryError, ["input_shape=", "memory"]),
    (lambda: G.conv2d_weight(X2, (3, 2, 3, 3), np.ones((1, 3, 1, 1)), padding=2 ** 62,
                             dilation=2 ** 62, stride=2 ** 62), ValueError, ["padding="]),
    (lambda: G.conv1d_weight(X1, (3, 2, 2 ** 40), np.ones((1, 3, 1)), padding=2 ** 40,
                             stride=2 ** 42), MemoryError, ["weight_shape=", "memory"]),
    (lambda: G.conv2d_weight(X2, (3, 2, 3, 3), np.ones((1, 3, 1, 1)), padding=2 ** 18,
                             padding_mode="replicate", stride=2 ** 20), MemoryError,
     ["padding=", "memory"]),
    (lambda: G.conv_transpose1d_weight(X1, (2, 1, 2 ** 40), np.ones((1, 1, 2 ** 10)),
                                       padding=(2 ** 40 + 8 - 2 ** 10) // 2), MemoryError,
     ["weight_shape="]),
]


@pytest.mark.parametrize("case", range(len(ABSURD)))
def test_absurd_sizes_fail_early_naming_the_argument(case):
    call, exc, words = ABSURD[case]
    start = time.perf_counter()
    with pytest.raises(exc) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)
    assert re.search(r"\d", message)
    assert time.perf_counter() - start < 1.0   # nothing large was allocated or computed
    assert _openmp.budget() == {"calls": 0, "threads": 0}


def test_the_largest_indexable_geometry_is_still_computed():
    """Huge padding, dilation and stride just inside the bound give the
    reference's answer (one tap lands in the input), not a refusal."""
    x = np.arange(9.0).reshape(1, 1, 9)
    w = np.array([[[2.0, 3.0, 5.0]]])
    big = 2 ** 58
    for algorithm in ("direct", "im2col"):
        y = fastconv.conv1d(x, w, padding=big, dilation=big, algorithm=algorithm)
        np.testing.assert_array_equal(y, 3.0 * x, err_msg=algorithm)


@pytest.mark.parametrize("algorithm", ["direct", "im2col"])
@pytest.mark.parametrize("dilation", [12, 20, 24])
def test_dilation_and_padding_wider_than_the_output(algorithm, dilation):
    """Atrous layers on narrow maps: padding and dilation larger than the
    output width, so a tap's columns can all fall in the padding of a run
    of output columns (im2col's packing wrote zeros past such a run, over
    the end of its stack buffer)."""
    from conftest import assert_conv_close, n_terms_of

    from fastconv import reference

    rng = np.random.default_rng(dilation)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((1, 16, 64, 9)).astype(dtype)
        w = rng.standard_normal((16, 16, 3, 3)).astype(dtype)
        kw = dict(padding=(1, dilation), dilation=(1, dilation))
        y = fastconv.conv2d(x, w, algorithm=algorithm, **kw)
        assert_conv_close(y, reference.conv2d(x, w, **kw), dtype, n_terms_of(w))


# Every kernel with per-thread workspaces, at a size that starts a parallel region.
def _workspace_calls():
    rng = np.random.default_rng(0)

    def a(*s):
        return rng.standard_normal(s).astype(np.float32)

    x, w, gy = a(2, 16, 31, 29), a(24, 16, 3, 3), a(2, 24, 31, 29)
    img, k, dw, pw = a(300, 299), a(5, 7), a(32, 1, 3, 3), a(20, 32, 1, 1)
    A, B, wt = a(64, 300), a(300, 200), a(16, 8, 4, 4)
    return {
        "im2col": lambda: fastconv.conv2d(x, w, padding=1, algorithm="im2col"),
        "winograd": lambda: fastconv.conv2d(x, w, padding=1, algorithm="winograd"),
        "filter2d": lambda: fastconv.correlate(img, k, algorithm="direct"),
        "separable": lambda: fastconv.separable_conv2d(x, dw, pw),
        "weight_grad": lambda: fastconv.grad.conv2d_weight(x, w.shape, gy, padding=1),
        "matmul": lambda: _gemm.matmul(A, B),
        "transposed": lambda: fastconv.conv_transpose2d(x, wt, stride=2, algorithm="im2col"),
    }


@pytest.mark.parametrize("kernel", list(_workspace_calls()))
@pytest.mark.parametrize("threads", [1, 2])
def test_workspace_allocation_failure_in_a_parallel_region(kernel, threads, restore_threads):
    fastconv.set_num_threads(threads)
    call = _workspace_calls()[kernel]
    expected = call()
    _openmp._fail_workspaces(1)
    try:
        with pytest.raises(MemoryError, match="workspace"):
            call()
    finally:
        _openmp._fail_workspaces(0)
    assert _openmp.budget() == {"calls": 0, "threads": 0}
    np.testing.assert_array_equal(call(), expected)


RLIMIT = """
import resource, sys
import numpy as np
import fastconv
from fastconv import reference
from fastconv._kernels import _openmp

fastconv.set_num_threads(2)
rng = np.random.default_rng(0)
x, w = rng.standard_normal((2, 8, 40, 40)), rng.standard_normal((8, 8, 3, 3))
expected = fastconv.conv2d(x, w, padding=1)      # starts the OpenMP threads
img = rng.random((5010, 4096), dtype=np.float32)
kernel = rng.random((5000, 1), dtype=np.float32)
small = fastconv.correlate(img[:40, :40], kernel[:5], mode="valid", algorithm="direct")

def vm_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024

limit = vm_bytes() + 40 * 2 ** 20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
outcomes = []
# 1. An output that cannot be allocated (100 MiB).
try:
    fastconv.conv2d(np.ones((1, 1, 5000, 5000), np.float32), np.ones((1, 1, 1, 1), np.float32))
    outcomes.append("output allocated")
except MemoryError:
    outcomes.append("output MemoryError")
# 2. Per-thread workspaces that cannot be allocated, inside the parallel
# region: the filter's window of a 5000-row kernel is about 80 MiB per
# thread; the input and kernel are already there, the output is small.
try:
    fastconv.correlate(img, kernel, mode="valid", algorithm="direct")
    outcomes.append("workspace allocated")
except MemoryError as exc:
    outcomes.append("workspace MemoryError" if "workspace" in str(exc) else repr(exc))
ok = _openmp.budget() == {"calls": 0, "threads": 0}
ok = ok and np.array_equal(fastconv.conv2d(x, w, padding=1), expected)
ok = ok and np.array_equal(fastconv.correlate(img[:40, :40], kernel[:5], mode="valid",
                                              algorithm="direct"), small)
print(outcomes, "next calls", "ok" if ok else "WRONG")
"""


@pytest.mark.skipif(bool(BUILD_INFO.get("sanitize")),
                    reason="AddressSanitizer reserves terabytes of address space: no RLIMIT_AS")
def test_memory_limit_gives_memory_error_and_the_process_survives(tmp_path):
    result = run_script(tmp_path, RLIMIT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "['output MemoryError', 'workspace MemoryError'] next calls ok" in result.stdout, (
        result.stdout, result.stderr)
