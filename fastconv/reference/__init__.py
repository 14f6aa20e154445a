"""Slow, obviously-correct reference definitions in float64: the tests' oracle.

Every operation of fastconv is written here again, straight from its
definition, with NumPy only: the convolutions (:func:`conv_nd` and its
independent loop version :func:`conv_nd_loops`, :func:`pad`), the
transposed convolutions (a scatter), the depthwise, separable, spatially
separable and octave variants (compositions of the convolution),
:func:`correlate` / :func:`convolve` and the gradients
(:mod:`fastconv.reference.grad`). The reference shares no code with the
compiled package, not even a helper, so that a mistake in one cannot hide in
the other; the tests check the reference itself against SciPy (and PyTorch
when it is installed).
"""
# Each area keeps its definitions in its own module; all are re-exported here.
from fastconv.reference import _conv, _signal, _transposed, _variants, grad
from fastconv.reference._conv import *  # noqa: F401,F403
from fastconv.reference._signal import *  # noqa: F401,F403
from fastconv.reference._transposed import *  # noqa: F401,F403
from fastconv.reference._variants import *  # noqa: F401,F403

__all__ = (list(_conv.__all__) + list(_transposed.__all__) + list(_variants.__all__)
           + list(_signal.__all__) + ["grad"])
