"""Type aliases shared by fastconv's stubs (no runtime module of this name)."""
from typing import Any, Sequence, TypeAlias

import numpy as np
from numpy.typing import ArrayLike as ArrayLike, DTypeLike as DTypeLike, NDArray

FloatArray: TypeAlias = NDArray[np.floating[Any]]
# What the functions that accept complex arrays return (and take as out=).
InexactArray: TypeAlias = NDArray[np.floating[Any] | np.complexfloating[Any, Any]]
Shape: TypeAlias = Sequence[int]
IntOrTuple: TypeAlias = int | Sequence[int]
# An int, one int per spatial dim, one (before, after) pair per dim, "valid" or "same".
Padding: TypeAlias = int | str | Sequence[int] | Sequence[tuple[int, int]] | Sequence[Sequence[int]]
# The string options are str (their values are checked at run time and listed
# in the docstrings): a Literal type would reject a value held in a variable.
Algorithm: TypeAlias = str
Layout: TypeAlias = str
