"""asv benchmarks of ``fastconv.ndimage`` (SciPy's linear filters).

``Filters2D`` runs each filter on a 2048 x 2048 float32 image and
``Filters3D`` on a 128^3 float32 volume (mode 'reflect'), with one or two
threads: time per call and peak memory. ``track_speedup_vs_scipy`` is
``scipy.ndimage``'s time over fastconv's, measured in the same process
(interleaved, best of a few calls each), where SciPy is installed.
"""
import numpy as np

from . import common

#: name -> (function, positional arguments after the input)
FILTERS = {
    "gaussian_filter": ("gaussian_filter", (2.0,)),
    "uniform_filter": ("uniform_filter", (5,)),
    "sobel": ("sobel", ()),
    "prewitt": ("prewitt", ()),
    "laplace": ("laplace", ()),
    "gaussian_laplace": ("gaussian_laplace", (2.0,)),
    "gaussian_gradient_magnitude": ("gaussian_gradient_magnitude", (2.0,)),
    "correlate_3": ("correlate", ("weights3",)),
}


def _ndimage():
    try:
        from fastconv import ndimage
    except ImportError:
        raise NotImplementedError("this fastconv version has no fastconv.ndimage")
    return ndimage


class _Filters:
    shape = None
    params = (tuple(FILTERS), common.THREADS)
    param_names = ("filter", "threads")
    repeat = (3, 10, 20.0)
    number = 1
    timeout = 600

    def setup(self, name, threads):
        self.ndimage = _ndimage()
        common.set_threads(threads)
        self.x = common.random_array(self.shape, np.float32, seed=0)
        func, args = FILTERS[name]
        weights = common.random_array((3,) * len(self.shape), np.float32, seed=1)
        self.args = tuple(weights if a == "weights3" else a for a in args)
        self.func = func

    def teardown(self, name, threads):
        common.restore_threads()

    def _run(self, module):
        return getattr(module, self.func)(self.x, *self.args, mode="reflect")

    def time_filter(self, name, threads):
        self._run(self.ndimage)

    def peakmem_filter(self, name, threads):
        self._run(self.ndimage)

    def track_speedup_vs_scipy(self, name, threads):
        try:
            import scipy.ndimage
        except ImportError:
            raise NotImplementedError("SciPy is not installed")
        ours, theirs = float("inf"), float("inf")
        for _ in range(2):
            ours = min(ours, common.best_time(lambda: self._run(self.ndimage), 1))
            theirs = min(theirs, common.best_time(lambda: self._run(scipy.ndimage), 1))
        return theirs / ours

    track_speedup_vs_scipy.unit = "x"


class Filters2D(_Filters):
    """2048 x 2048 float32 image."""

    shape = common.pick((2048, 2048), (512, 512))


class Filters3D(_Filters):
    """128^3 float32 volume."""

    shape = common.pick((128, 128, 128), (48, 48, 48))
