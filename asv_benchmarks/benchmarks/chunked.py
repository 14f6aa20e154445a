"""asv benchmarks of ``fastconv.dask``: chunked calls on the threaded scheduler.

``ChunkedImage`` correlates a float32 image (2048 x 2048 in 512 x 512 chunks;
quick profile: 1024 x 1024 in 256 x 256) with a k x k Gaussian-size kernel in
``mode="same"``, ``boundary="reflect"``: the graph built and computed (time,
peak memory), and the graph alone (``time_build``: what the lazy call costs).
``ChunkedFilters`` runs ``fastconv.dask.ndimage``'s Gaussian, uniform and
Sobel filters on the image. ``ChunkedBatch`` runs a ResNet-style 3 x 3,
64 -> 64 channel conv2d over a batch chunked along N. ``dask.compute`` uses the threaded scheduler with as
many workers as the ``threads`` parameter, each task on one thread.

Skipped (n/a) where dask or this fastconv version's ``fastconv.dask`` is
missing.
"""
import numpy as np

from . import common


def _require_dask():
    try:
        import dask  # noqa: F401
        import fastconv.dask  # noqa: F401
    except ImportError:
        raise NotImplementedError("dask or fastconv.dask is not installed")


class ChunkedImage:
    """A chunked float32 image, k x k kernel, mode='same', boundary='reflect'."""

    params = ((5, 7, 11), common.THREADS)
    param_names = ("kernel", "threads")
    repeat = (2, 5, 30.0)
    number = 1
    timeout = 300

    def setup(self, kernel, threads):
        _require_dask()
        import dask.array as da
        size, chunk = common.pick((2048, 512), (1024, 256))
        image = common.random_array((size, size), "float32", seed=0)
        self.x = da.from_array(image, chunks=chunk)
        g = np.exp(-0.5 * np.linspace(-2, 2, kernel) ** 2)
        self.w = (np.outer(g, g) / np.outer(g, g).sum()).astype(np.float32)
        self.threads = threads

    def _lazy(self):
        import fastconv.dask
        return fastconv.dask.correlate(self.x, self.w, "same", boundary="reflect",
                                       num_threads=1)

    def _compute(self):
        return self._lazy().compute(scheduler="threads", num_workers=self.threads)

    def time_correlate(self, kernel, threads):
        self._compute()

    def peakmem_correlate(self, kernel, threads):
        self._compute()

    def time_build(self, kernel, threads):
        self._lazy()


class ChunkedBatch:
    """conv2d 3 x 3, 64 -> 64 channels, padding 1, over N images chunked by 4."""

    params = (common.THREADS,)
    param_names = ("threads",)
    repeat = (2, 5, 30.0)
    number = 1
    timeout = 300

    def setup(self, threads):
        _require_dask()
        import dask.array as da
        n, size = common.pick((32, 56), (8, 28))
        x = common.random_array((n, 64, size, size), "float32", seed=0)
        self.x = da.from_array(x, chunks=(4, 64, size, size))
        self.w = common.random_array((64, 64, 3, 3), "float32", seed=1)
        self.threads = threads

    def time_conv2d(self, threads):
        import fastconv.dask
        y = fastconv.dask.conv2d(self.x, self.w, padding=1, num_threads=1)
        y.compute(scheduler="threads", num_workers=self.threads)


class ChunkedFilters:
    """fastconv.dask.ndimage filters on a chunked float32 image, mode 'reflect'."""

    params = (("gaussian_filter", "uniform_filter", "sobel"), common.THREADS)
    param_names = ("filter", "threads")
    repeat = (2, 5, 30.0)
    number = 1
    timeout = 300

    def setup(self, name, threads):
        _require_dask()
        try:
            import fastconv.dask.ndimage  # noqa: F401
        except ImportError:
            raise NotImplementedError("fastconv.dask.ndimage is not in this version")
        import dask.array as da
        size, chunk = common.pick((2048, 512), (1024, 256))
        self.x = da.from_array(common.random_array((size, size), "float32", seed=0),
                               chunks=chunk)
        self.args = {"gaussian_filter": (3.0,), "uniform_filter": (7,), "sobel": ()}[name]
        self.threads = threads

    def time_filter(self, name, threads):
        import fastconv.dask.ndimage as dndi
        y = getattr(dndi, name)(self.x, *self.args, num_threads=1)
        y.compute(scheduler="threads", num_workers=self.threads)
