"""Lazy, chunked convolutions of Dask arrays, bitwise equal to the in-memory ones.

``fastconv.dask`` has the functions of fastconv's in-memory API for arrays
that do not fit one machine's memory or time budget: a ``dask.array.Array``
in (chunked along any axes), NumPy weights, a ``dask.array.Array`` out whose
shape, chunks and dtype are known before anything runs. Computed on any
scheduler (a ``distributed`` cluster, threads, synchronously), the result has
the bits of the in-memory function on the whole array.

Install it with ``pip install "fastconv[dask]"`` (dask and distributed); the
rest of fastconv does not need them.

>>> import numpy as np, dask.array as da, fastconv, fastconv.dask
>>> x = da.random.default_rng(0).standard_normal((2, 3, 512, 512), chunks=(1, 3, 200, 200))
>>> w = np.ones((8, 3, 3, 3)) / 27
>>> y = fastconv.dask.conv2d(x, w, padding=1)
>>> y.shape, y.chunks[2]
((2, 8, 512, 512), (200, 200, 112))
>>> bool(np.array_equal(y.compute(), fastconv.conv2d(x.compute(), w, padding=1)))
True
"""
try:
    import dask.array  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without dask
    raise ImportError("fastconv.dask needs dask: install it with "
                      "pip install \"fastconv[dask]\" (dask[array] and distributed)") from exc

from fastconv.dask._api import (SingleBlockWarning, conv1d, conv2d, conv3d,  # noqa: E402
                                conv_transpose1d, conv_transpose2d, conv_transpose3d,
                                convolve, correlate, depthwise_conv2d, separable_conv2d)
from fastconv.dask._workers import task_threads  # noqa: E402

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "depthwise_conv2d", "separable_conv2d", "correlate", "convolve",
           "task_threads", "SingleBlockWarning"]
