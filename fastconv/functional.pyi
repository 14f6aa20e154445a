# Type stubs of fastconv.functional (see fastconv/__init__.pyi).
from fastconv._typing import Algorithm, ArrayLike, InexactArray, IntOrTuple, Layout, Padding

__all__: list[str]

def conv1d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
           padding: Padding = 0, dilation: IntOrTuple = 1, groups: int = 1, *,
           padding_mode: str = "zeros", algorithm: Algorithm = "auto",
           out: InexactArray | None = None, layout: Layout = "channels_first") -> InexactArray: ...
def conv2d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
           padding: Padding = 0, dilation: IntOrTuple = 1, groups: int = 1, *,
           padding_mode: str = "zeros", algorithm: Algorithm = "auto",
           out: InexactArray | None = None, layout: Layout = "channels_first") -> InexactArray: ...
def conv3d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntOrTuple = 1,
           padding: Padding = 0, dilation: IntOrTuple = 1, groups: int = 1, *,
           padding_mode: str = "zeros", algorithm: Algorithm = "auto",
           out: InexactArray | None = None, layout: Layout = "channels_first") -> InexactArray: ...
