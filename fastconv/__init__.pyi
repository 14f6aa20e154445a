# Type stubs of fastconv's public API (PEP 561; the package ships py.typed).
# tests/test_typing.py checks that these names and signatures match the
# runtime ones: a new public function or module needs its stub here (or in
# the module's own .pyi) in the same change.
import os
from typing import Any, Callable, Sequence

from numpy.typing import ArrayLike, DTypeLike

from fastconv import grad as grad, reference as reference
from fastconv.functional import conv1d as conv1d, conv2d as conv2d, conv3d as conv3d
from fastconv._typing import (Algorithm, FloatArray, InexactArray, IntOrTuple, Layout,
                              Padding, Shape)

__version__: str
__all__: list[str]

ALGORITHMS: tuple[str, ...]

def conv_output_shape(input_shape: Shape, weight_shape: Shape, stride: IntOrTuple = 1,
                      padding: Padding = 0, dilation: IntOrTuple = 1) -> tuple[int, ...]: ...

def get_config() -> dict[str, Any]: ...
def show_config() -> None: ...
def get_num_threads() -> int: ...
def set_num_threads(n: int | None) -> None: ...

# Calculators
def count_macs(op: str, input_shape: Shape, weight_shape: Shape, stride: IntOrTuple = 1,
               padding: Padding = 0, dilation: IntOrTuple = 1, groups: int = 1, *,
               mode: str = "full", alpha: float = 0.5) -> int: ...
def count_params(weight_shape: Shape, bias: bool = False, *, op: str = "conv") -> int: ...
def receptive_field(layers: Sequence[Any]) -> int | tuple[int, ...]: ...
def conv_transpose_output_shape(input_shape: Shape, weight_shape: Shape, stride: IntOrTuple = 1,
                                padding: Padding = 0, output_padding: IntOrTuple = 0,
                                dilation: IntOrTuple = 1, groups: int = 1) -> tuple[int, ...]: ...

# Plans
class ConvPlan:
    algorithm: str
    dtype: Any
    layout: str
    variant: dict[str, int]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    def __init__(self, nd: int, weight: ArrayLike, input_shape: Shape, bias: ArrayLike | None,
                 stride: IntOrTuple, padding: Padding, dilation: IntOrTuple, groups: int,
                 padding_mode: str, algorithm: Algorithm, layout: Layout,
                 dtype: DTypeLike, tune: bool = False, tune_budget: float = 1.0) -> None: ...
    def __call__(self, x: ArrayLike, out: FloatArray | None = None) -> FloatArray: ...

def plan_conv1d(weight: ArrayLike, input_shape: Shape, bias: ArrayLike | None = None,
                stride: IntOrTuple = 1, padding: Padding = 0, dilation: IntOrTuple = 1,
                groups: int = 1, *, padding_mode: str = "zeros", algorithm: Algorithm = "auto",
                layout: Layout = "channels_first", dtype: DTypeLike | None = None,
                tune: bool = False, tune_budget: float = 1.0) -> ConvPlan: ...
def plan_conv2d(weight: ArrayLike, input_shape: Shape, bias: ArrayLike | None = None,
                stride: IntOrTuple = 1, padding: Padding = 0, dilation: IntOrTuple = 1,
                groups: int = 1, *, padding_mode: str = "zeros", algorithm: Algorithm = "auto",
                layout: Layout = "channels_first", dtype: DTypeLike | None = None,
                tune: bool = False, tune_budget: float = 1.0) -> ConvPlan: ...
def plan_conv3d(weight: ArrayLike, input_shape: Shape, bias: ArrayLike | None = None,
                stride: IntOrTuple = 1, padding: Padding = 0, dilation: IntOrTuple = 1,
                groups: int = 1, *, padding_mode: str = "zeros", algorithm: Algorithm = "auto",
                layout: Layout = "channels_first", dtype: DTypeLike | None = None,
                tune: bool = False, tune_budget: float = 1.0) -> ConvPlan: ...

# Wisdom (measured algorithm choices)
def export_wisdom(path: str | os.PathLike[str]) -> int: ...
def import_wisdom(path: str | os.PathLike[str]) -> int: ...
def forget_wisdom() -> None: ...

# Signals and images
def correlate(in1: ArrayLike, in2: ArrayLike, mode: str = "full", *, boundary: str = "fill",
              fillvalue: complex = 0, algorithm: str = "auto",
              out: InexactArray | None = None) -> InexactArray: ...
def convolve(in1: ArrayLike, in2: ArrayLike, mode: str = "full", *, boundary: str = "fill",
             fillvalue: complex = 0, algorithm: str = "auto",
             out: InexactArray | None = None) -> InexactArray: ...

# Transposed convolution
def conv_transpose1d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: IntOrTuple = 1, padding: Padding = 0,
                     output_padding: IntOrTuple = 0, groups: int = 1, dilation: IntOrTuple = 1,
                     *, algorithm: Algorithm = "auto", out: InexactArray | None = None,
                     layout: Layout = "channels_first") -> InexactArray: ...
def conv_transpose2d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: IntOrTuple = 1, padding: Padding = 0,
                     output_padding: IntOrTuple = 0, groups: int = 1, dilation: IntOrTuple = 1,
                     *, algorithm: Algorithm = "auto", out: InexactArray | None = None,
                     layout: Layout = "channels_first") -> InexactArray: ...
def conv_transpose3d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: IntOrTuple = 1, padding: Padding = 0,
                     output_padding: IntOrTuple = 0, groups: int = 1, dilation: IntOrTuple = 1,
                     *, algorithm: Algorithm = "auto", out: InexactArray | None = None,
                     layout: Layout = "channels_first") -> InexactArray: ...

# Variants
def depthwise_conv2d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: IntOrTuple = 1, padding: Padding = 0, dilation: IntOrTuple = 1, *,
                     padding_mode: str = "zeros", algorithm: Algorithm = "auto",
                     out: InexactArray | None = None) -> InexactArray: ...
def separable_conv2d(x: ArrayLike, depthwise_weight: ArrayLike, pointwise_weight: ArrayLike,
                     bias: ArrayLike | None = None, stride: IntOrTuple = 1, padding: Padding = 0,
                     dilation: IntOrTuple = 1, *, padding_mode: str = "zeros",
                     algorithm: Algorithm = "auto", out: InexactArray | None = None) -> InexactArray: ...
def spatially_separable_conv2d(x: ArrayLike, column_weight: ArrayLike, row_weight: ArrayLike,
                               bias: ArrayLike | None = None, stride: IntOrTuple = 1,
                               padding: Padding = 0, dilation: IntOrTuple = 1, groups: int = 1,
                               *, padding_mode: str = "zeros", algorithm: Algorithm = "auto",
                               out: InexactArray | None = None) -> InexactArray: ...
def separate(kernel: ArrayLike, rtol: float = 1e-06) -> tuple[FloatArray, FloatArray]: ...
def octave_conv2d(x_high: ArrayLike, x_low: ArrayLike | None, w_hh: ArrayLike | None,
                  w_hl: ArrayLike | None, w_lh: ArrayLike | None, w_ll: ArrayLike | None,
                  bias_high: ArrayLike | None = None, bias_low: ArrayLike | None = None,
                  stride: int = 1, padding: Padding = 0, *,
                  algorithm: Algorithm = "auto") -> tuple[InexactArray, InexactArray | None]: ...
def octave_split(x: ArrayLike, alpha: float) -> tuple[InexactArray, InexactArray | None]: ...
def octave_merge(x_high: ArrayLike, x_low: ArrayLike | None) -> InexactArray: ...
