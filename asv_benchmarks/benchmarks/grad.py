"""asv benchmarks of the backward passes (``fastconv.grad``).

For two bench-suite layers (resnet3x3_64_56 and pw1x1_256_64_56), float32 and
float64, one and two threads: the input gradient, the weight gradient, the
bias gradient, and forward + all three gradients together (what one training
step of the layer costs).
"""
import fastconv

from . import common

LAYERS = {
    "resnet3x3_64_56": ((1, 64, 56, 56), (64, 64, 3, 3), {"padding": 1}),
    "pw1x1_256_64_56": ((1, 256, 56, 56), (64, 256, 1, 1), {}),
}


class Grad:
    params = (tuple(LAYERS), common.DTYPES, common.THREADS)
    param_names = ("layer", "dtype", "threads")
    repeat = (3, 10, 20.0)
    number = 1
    timeout = 300

    def setup(self, layer, dtype, threads):
        grad = getattr(fastconv, "grad", None)
        if grad is None or not hasattr(grad, "conv2d_weight"):
            raise NotImplementedError("fastconv.grad is not available in this version")
        common.set_threads(threads)
        self.grad = grad
        x_shape, w_shape, self.kwargs = LAYERS[layer]
        self.x = common.random_array(x_shape, dtype, seed=0)
        self.w = common.random_array(w_shape, dtype, seed=1)
        self.b = common.random_array(w_shape[:1], dtype, seed=2)
        y_shape = fastconv.conv_output_shape(x_shape, w_shape, **self.kwargs)
        self.gy = common.random_array(y_shape, dtype, seed=3)

    def teardown(self, layer, dtype, threads):
        common.restore_threads()

    def time_input(self, layer, dtype, threads):
        self.grad.conv2d_input(self.x.shape, self.w, self.gy, **self.kwargs)

    def time_weight(self, layer, dtype, threads):
        self.grad.conv2d_weight(self.x, self.w.shape, self.gy, **self.kwargs)

    def time_bias(self, layer, dtype, threads):
        self.grad.bias(self.gy)

    def time_forward_backward(self, layer, dtype, threads):
        fastconv.conv2d(self.x, self.w, self.b, **self.kwargs)
        self.grad.conv2d_input(self.x.shape, self.w, self.gy, **self.kwargs)
        self.grad.conv2d_weight(self.x, self.w.shape, self.gy, **self.kwargs)
        self.grad.bias(self.gy)

    def peakmem_weight(self, layer, dtype, threads):
        self.grad.conv2d_weight(self.x, self.w.shape, self.gy, **self.kwargs)
