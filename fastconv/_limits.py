"""Sizes refused before anything is allocated: the one place for them.

Every array size is computed here with Python integers (no overflow) from
the validated geometry, before the array it describes is allocated:

* an array, real or virtual, of more than ``MAX_ELEMENTS`` elements is a
  ``ValueError``: the kernels index with signed 64-bit integers, and a
  padded input they read without building it (zero padding) is indexed
  like a real one, so its size is bounded too (``2**62`` leaves room for
  the sum of two indices);
* an array of more bytes than the machine has memory (RAM + swap) is a
  ``MemoryError``, raised before the allocation is attempted.

The messages name the argument that made the size (``padding=...``,
``dilation=...``, ``stride=...``, the input's shape) and the size computed.
"""
import functools
import math
import os

import numpy as np

#: Elements of the largest array (or padded input read in place) fastconv handles.
MAX_ELEMENTS = 2 ** 62


@functools.lru_cache(maxsize=None)
def memory_bytes():
    """This machine's memory, RAM plus swap, in bytes (None if unknown)."""
    try:
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):   # pragma: no cover - non-POSIX
        return None
    swap = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("SwapTotal:"):
                    swap = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):       # pragma: no cover - non-Linux
        pass
    return ram + swap


def _bytes(n):
    for unit, size in (("EiB", 2 ** 60), ("PiB", 2 ** 50), ("TiB", 2 ** 40), ("GiB", 2 ** 30),
                       ("MiB", 2 ** 20)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def _text(cause):
    # A cause may be given as a function: only a failing check words it.
    return cause() if callable(cause) else cause


def check_indexable(shape, what, cause):
    """ValueError if an array of ``shape`` (real or read in place) has more
    than ``MAX_ELEMENTS`` elements. ``cause``: the argument that made the
    size, with its value (a string, or a function returning it)."""
    n = math.prod(int(v) for v in shape)
    if n > MAX_ELEMENTS:
        raise ValueError(f"{_text(cause)} makes {what} of shape {tuple(shape)}: {n:.4g} elements, "
                         f"more than fastconv can index (2**62, with 64-bit integers)")
    return n


def check_alloc(shape, dtype, what, cause):
    """ValueError or MemoryError before an array of ``shape`` and ``dtype`` is allocated."""
    n = check_indexable(shape, what, cause)
    nbytes = n * np.dtype(dtype).itemsize
    if nbytes > np.iinfo(np.intp).max:
        raise ValueError(f"{_text(cause)} makes {what} of shape {tuple(shape)}: {nbytes:.4g} bytes, "
                         f"more than this platform can address")
    memory = memory_bytes()
    if memory is not None and nbytes > memory:
        raise MemoryError(f"{_text(cause)} makes {what} of shape {tuple(shape)} and dtype "
                          f"{np.dtype(dtype)}: {_bytes(nbytes)}, more than this machine's "
                          f"memory ({_bytes(memory)})")


def conv_cause(x_name, x_shape, padding, dilation, in_spatial, before, after, kernel):
    """The argument that makes a convolution's (padded) arrays large, with its value."""
    worst = max(range(len(in_spatial)),
                key=lambda i: in_spatial[i] + before[i] + after[i])
    if before[worst] + after[worst] > in_spatial[worst]:
        return f"padding={padding!r}"
    if dilation[worst] * (kernel[worst] - 1) > in_spatial[worst]:
        return f"dilation={dilation!r}"
    return f"the {x_name} of shape {tuple(x_shape)}"


def transposed_cause(x_name, x_shape, in_spatial, kernel, stride, dilation):
    """The argument that makes a transposed convolution's output large, with its value."""
    worst = max(range(len(in_spatial)),
                key=lambda i: (in_spatial[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1))
    if dilation[worst] * (kernel[worst] - 1) > (in_spatial[worst] - 1) * stride[worst]:
        return f"dilation={dilation!r}"
    if stride[worst] > 1:
        return f"stride={stride!r}"
    return f"the {x_name} of shape {tuple(x_shape)}"


def check_geometry(n, c_in, in_spatial, before, after, kernel, dilation, x_name, x_shape,
                   padding):
    """The padded input that a convolution's kernels index (zero padding is
    read in place, never built, so only its element count is bounded)."""
    padded = tuple(s + b + a for s, b, a in zip(in_spatial, before, after))
    if math.prod((n, c_in) + padded) > MAX_ELEMENTS:
        check_indexable((n, c_in) + padded, "a padded input",
                        conv_cause(x_name, x_shape, padding, dilation, in_spatial, before,
                                   after, kernel))


def check_conv(problem, x_shape, padding, allocate_out, x_name="input"):
    """The arrays a convolution allocates: its output (unless ``out`` is given)
    and, for a non-zero ``padding_mode``, its explicitly padded input."""
    if allocate_out:
        check_alloc(problem.out_shape, problem.dtype, "an output",
                    lambda: conv_cause(x_name, x_shape, padding, problem.dilation,
                                       problem.in_spatial, problem.pad_before,
                                       problem.pad_after, problem.kernel))
    if problem.padding_mode != "zeros" and any(problem.pad_before + problem.pad_after):
        padded = tuple(s + b + a for s, b, a in
                       zip(problem.in_spatial, problem.pad_before, problem.pad_after))
        check_alloc((problem.n, problem.c_in) + padded, problem.dtype,
                    f"an input padded in mode {problem.padding_mode!r}", f"padding={padding!r}")


def check_transposed(x_name, x_shape, n, c_out, in_spatial, kernel, stride, dilation,
                     output_padding, out_shape, dtype, allocate_out):
    """A transposed convolution: the full output its kernels index (before the
    padding is cropped) and, unless ``out`` is given, the output it allocates."""
    def cause():
        return transposed_cause(x_name, x_shape, in_spatial, kernel, stride, dilation)
    full = tuple((i - 1) * s + d * (k - 1) + o + 1 for i, s, d, k, o in
                 zip(in_spatial, stride, dilation, kernel, output_padding))
    check_indexable((n, c_out) + full, "an uncropped output", cause)
    if allocate_out:
        check_alloc(out_shape, dtype, "an output", cause)
