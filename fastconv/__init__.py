"""fastconv: fast CPU convolutions for NumPy arrays.

Cython + OpenMP kernels behind a thin API in PyTorch's conventions::

    >>> import numpy as np, fastconv
    >>> x = np.random.default_rng(0).standard_normal((1, 3, 16, 16))
    >>> w = np.ones((4, 3, 3, 3))
    >>> fastconv.conv2d(x, w, padding="same").shape
    (1, 4, 16, 16)
"""
from fastconv import reference
from fastconv._version import __version__
from fastconv._args import ALGORITHMS, conv_output_shape
from fastconv._config import get_config, show_config
from fastconv._threads import get_num_threads, set_num_threads
from fastconv.functional import conv1d, conv2d, conv3d
from fastconv._dispatch import select_isa_from_environment as _select_isa
from fastconv import _calculators, _plans, _signal, _transposed, _variants, grad
from fastconv._calculators import *  # noqa: F401,F403
from fastconv._plans import *  # noqa: F401,F403
from fastconv._signal import *  # noqa: F401,F403
from fastconv._transposed import *  # noqa: F401,F403
from fastconv._variants import *  # noqa: F401,F403

_select_isa()   # the only work done at import: FASTCONV_ISA

__all__ = [
    "ALGORITHMS",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_output_shape",
    "get_config",
    "get_num_threads",
    "reference",
    "set_num_threads",
    "show_config",
    "grad",
] + (_calculators.__all__ + _plans.__all__ + _signal.__all__ + _transposed.__all__
     + _variants.__all__)
