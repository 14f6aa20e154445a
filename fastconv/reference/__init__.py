"""Slow, obviously-correct reference convolutions in float64.

The functions here follow the definition of a (cross-correlation) convolution
literally and compute everything in ``float64``.  They are the ground truth the
test suite compares the compiled kernels with, so they deliberately do not use
any part of the compiled package: padding is done explicitly with
:func:`numpy.pad` and the sum over the taps of the kernel is written as one
``tensordot`` over the input channels per tap::

    y[n, o, p] = b[o] + sum_{c in group(o)} sum_t w[o, c, t] * xpad[n, c, p*stride + t*dilation]

where ``p`` and ``t`` are multi-indices over the spatial dimensions and ``c``
runs over the input channels of output channel ``o``'s group.

The semantics match :func:`fastconv.conv1d` and friends (which follow
``torch.nn.functional.conv{1,2,3}d``): channels-first layout, optional batch
dimension, ``groups``, asymmetric padding, ``"valid"`` and ``"same"`` padding
(TensorFlow's rule, valid for every stride) and the padding modes ``"zeros"``,
``"reflect"``, ``"replicate"`` and ``"circular"``.  Only minimal validation is
done; the public functions of the package perform the user-facing checks.

:func:`conv_nd_loops` is an even more literal version with one Python loop per
index; it is only usable on tiny problems and exists to check the vectorised
implementation.
"""
# Each area keeps its definitions in its own module; all are re-exported here.
from fastconv.reference import _conv, _signal, _transposed, _variants, grad
from fastconv.reference._conv import *  # noqa: F401,F403
from fastconv.reference._signal import *  # noqa: F401,F403
from fastconv.reference._transposed import *  # noqa: F401,F403
from fastconv.reference._variants import *  # noqa: F401,F403

__all__ = (list(_conv.__all__) + list(_transposed.__all__) + list(_variants.__all__)
           + list(_signal.__all__) + ["grad"])
