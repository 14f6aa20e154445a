# Type stub of fastconv.dask (the conventions of fastconv/__init__.pyi).
from typing import Any, Sequence

from numpy.typing import ArrayLike

from fastconv._typing import Algorithm, IntOrTuple, Layout, Padding

__all__: list[str]

_ChannelChunks = int | Sequence[int] | None

class SingleBlockWarning(UserWarning): ...

def conv1d(x: Any, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
           padding: Padding = 0, dilation: IntOrTuple = 1, groups: int = 1, *,
           padding_mode: str = "zeros", algorithm: Algorithm = "auto",
           layout: Layout = "channels_first", channel_chunks: _ChannelChunks = None,
           num_threads: int | None = None) -> Any: ...
def conv2d(x: Any, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
           padding: Padding = 0, dilation: IntOrTuple = 1, groups: int = 1, *,
           padding_mode: str = "zeros", algorithm: Algorithm = "auto",
           layout: Layout = "channels_first", channel_chunks: _ChannelChunks = None,
           num_threads: int | None = None) -> Any: ...
def conv3d(x: Any, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
           padding: Padding = 0, dilation: IntOrTuple = 1, groups: int = 1, *,
           padding_mode: str = "zeros", algorithm: Algorithm = "auto",
           layout: Layout = "channels_first", channel_chunks: _ChannelChunks = None,
           num_threads: int | None = None) -> Any: ...
def conv_transpose1d(x: Any, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: IntOrTuple = 1, padding: Padding = 0,
                     output_padding: IntOrTuple = 0, groups: int = 1, dilation: IntOrTuple = 1,
                     *, algorithm: Algorithm = "auto", layout: Layout = "channels_first",
                     channel_chunks: _ChannelChunks = None,
                     num_threads: int | None = None) -> Any: ...
def conv_transpose2d(x: Any, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: IntOrTuple = 1, padding: Padding = 0,
                     output_padding: IntOrTuple = 0, groups: int = 1, dilation: IntOrTuple = 1,
                     *, algorithm: Algorithm = "auto", layout: Layout = "channels_first",
                     channel_chunks: _ChannelChunks = None,
                     num_threads: int | None = None) -> Any: ...
def conv_transpose3d(x: Any, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: IntOrTuple = 1, padding: Padding = 0,
                     output_padding: IntOrTuple = 0, groups: int = 1, dilation: IntOrTuple = 1,
                     *, algorithm: Algorithm = "auto", layout: Layout = "channels_first",
                     channel_chunks: _ChannelChunks = None,
                     num_threads: int | None = None) -> Any: ...
def depthwise_conv2d(x: Any, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: IntOrTuple = 1, padding: Padding = 0, dilation: IntOrTuple = 1, *,
                     padding_mode: str = "zeros", algorithm: Algorithm = "auto",
                     channel_chunks: _ChannelChunks = None,
                     num_threads: int | None = None) -> Any: ...
def separable_conv2d(x: Any, depthwise_weight: ArrayLike, pointwise_weight: ArrayLike,
                     bias: ArrayLike | None = None, stride: IntOrTuple = 1, padding: Padding = 0,
                     dilation: IntOrTuple = 1, *, padding_mode: str = "zeros",
                     algorithm: Algorithm = "auto", channel_chunks: _ChannelChunks = None,
                     num_threads: int | None = None) -> Any: ...
def correlate(in1: Any, in2: ArrayLike, mode: str = "full", *, boundary: str = "fill",
              fillvalue: float = 0, algorithm: str = "auto",
              num_threads: int | None = None) -> Any: ...
def convolve(in1: Any, in2: ArrayLike, mode: str = "full", *, boundary: str = "fill",
             fillvalue: float = 0, algorithm: str = "auto",
             num_threads: int | None = None) -> Any: ...
def task_threads(num_threads: int | None = None) -> int | None: ...
