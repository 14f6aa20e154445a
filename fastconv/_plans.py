"""Plans: a convolution prepared once (weights transformed and packed) and run on many inputs.

A plan validates the arguments, chooses the algorithm and prepares the
weights once (:func:`fastconv._dispatch.prepare_weights`: Winograd's
transformed weights, im2col's packed ones); every call then only converts its
input and runs the kernel. This is the inference loop's shape: one layer, many
batches.
"""
import dataclasses
import math
import numbers

import numpy as np

from fastconv._args import (as_array, check_layout, check_out, from_channels_first, pad_input,
                            prepare_conv, stand_in, to_channels_first)
from fastconv._dispatch import (TUNE_BUDGET, choose, has_wisdom, isa_level, prepare_weights,
                                run_conv, tune)
from fastconv._docstrings import SPATIAL_NAMES

__all__ = ["ConvPlan", "plan_conv1d", "plan_conv2d", "plan_conv3d"]


class ConvPlan:
    """A convolution with fixed weights, prepared for repeated calls.

    Made by :func:`plan_conv1d`, :func:`plan_conv2d` or :func:`plan_conv3d`;
    calling it computes the convolution of a new input::

        y = plan(x)            # same result as fastconv.conv2d(x, weight, ...)

    Attributes
    ----------
    algorithm : str
        The algorithm the plan runs (``auto`` resolved when the plan was made).
    variant : dict
        The kernel parameters it runs with (block sizes), chosen by a
        measurement (``tune=True``) or by wisdom; empty: the kernel's defaults.
    dtype : numpy.dtype
        The computation dtype; inputs are converted to it.
    input_shape, output_shape : tuple
        Shapes of one call's input and result, in the plan's ``layout``. The
        batch size (the first dim of a batched shape) may differ between calls.
    layout : str
    """

    def __init__(self, nd, weight, input_shape, bias, stride, padding, dilation, groups,
                 padding_mode, algorithm, layout, dtype, tune=False, tune_budget=TUNE_BUDGET):
        check_layout(layout)
        if not isinstance(tune, (bool, np.bool_)):
            raise TypeError(f"tune must be True or False, got {tune!r}")
        if (not isinstance(tune_budget, numbers.Real) or isinstance(tune_budget, bool)
                or not math.isfinite(tune_budget) or tune_budget <= 0):
            raise ValueError(f"tune_budget must be a positive number of seconds, "
                             f"got {tune_budget!r}")
        if tune and algorithm != "auto":
            raise ValueError(f"tune=True measures the algorithms for algorithm='auto'; "
                             f"algorithm={algorithm!r} names one already")
        for name, arr in (("weight", weight), ("bias", bias)):
            if arr is not None and np.iscomplexobj(arr):
                raise TypeError(f"plan_conv{nd}d: {name} has dtype {np.asarray(arr).dtype}; "
                                f"plans hold real (float32 or float64) weights: call "
                                f"fastconv.conv{nd}d for complex ones")
        input_shape = tuple(int(s) for s in np.atleast_1d(np.asarray(input_shape, dtype=np.int64)))
        if any(s < 0 for s in input_shape):
            raise ValueError(f"input_shape must hold non-negative sizes, got {input_shape}")
        probe_dtype = np.dtype(np.float32 if dtype is None else dtype)
        if probe_dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64 (or None), got {dtype!r}")
        # The shapes are validated by the same code as a plain call's.
        probe = to_channels_first(stand_in(input_shape, probe_dtype), layout, nd)
        problem, _, weight, bias, _ = prepare_conv(nd, probe, weight, bias, stride, padding,
                                                   dilation, groups, padding_mode, algorithm,
                                                   None, convert_input=False)
        self._nd = nd
        self._problem = problem
        self._weight = weight.copy()          # the caller may change its array later
        self._bias = None if bias is None else bias.copy()
        self.layout = layout
        self.dtype = problem.dtype
        if tune and not has_wisdom(problem, True, layout):
            self._measure(problem, float(tune_budget), layout)
        algorithm, variant = choose(problem, planned=True, layout=layout)
        self.algorithm = algorithm
        self.variant = dict(variant)
        self._isa = isa_level()
        self._batches = {}      # the problem of each batch size called so far
        self._packed = prepare_weights(problem, self._weight, self.algorithm, self._isa)
        self.input_shape = input_shape
        self._cf_input_shape = probe.shape          # channels first
        self.output_shape = from_channels_first(stand_in(problem.out_shape), layout, nd).shape

    def _measure(self, problem, budget, layout):
        """Time the candidates on random data of the plan's input shape."""
        rng = np.random.default_rng(0)
        shape = (problem.n, problem.c_in) + problem.in_spatial
        x = pad_input(rng.standard_normal(shape).astype(problem.dtype), problem)
        tune(problem, x, self._weight, self._bias, budget, layout=layout, planned=True)

    def __repr__(self):
        p = self._problem
        return (f"ConvPlan(conv{self._nd}d, input_shape={self.input_shape}, "
                f"output_shape={self.output_shape}, kernel={p.kernel}, stride={p.stride}, "
                f"dilation={p.dilation}, groups={p.groups}, dtype={self.dtype}, "
                f"algorithm={self.algorithm!r}"
                + (f", variant={self.variant!r}" if self.variant else "")
                + f", layout={self.layout!r})")

    def __call__(self, x, out=None):
        """The convolution of ``x`` with the plan's weights.

        Parameters
        ----------
        x : array_like
            Of the plan's ``input_shape`` (any batch size when batched), in its
            ``layout``; converted to the plan's dtype; never modified.
        out : ndarray, optional
            Of the result's shape and the plan's dtype, not overlapping ``x``.

        Returns
        -------
        ndarray
        """
        p, nd = self._problem, self._nd
        x_in = x
        if np.iscomplexobj(x):
            raise TypeError(f"input has dtype {np.asarray(x).dtype}; a plan computes in its "
                            f"real dtype {self.dtype}: call fastconv.conv{nd}d for complex "
                            f"inputs")
        arr = to_channels_first(as_array(x, "input"), self.layout, nd)
        expected = self._cf_input_shape
        batched = len(expected) == nd + 2
        if arr.ndim != len(expected) or arr.shape[batched:] != expected[batched:]:
            raise ValueError(f"the plan was made for inputs of shape {self.input_shape}"
                             f"{' (any batch size)' if batched else ''}, got input of shape "
                             f"{np.shape(x)}")
        xb = arr if batched else arr[None]
        problem = self._batches.get(xb.shape[0])
        if problem is None:
            problem = dataclasses.replace(p, n=int(xb.shape[0]))
            if len(self._batches) >= 64:
                self._batches.clear()
            self._batches[xb.shape[0]] = problem
        out_cf = None
        if out is not None:
            out_cf = to_channels_first(out, self.layout, nd, "out")
            check_out(out_cf, problem.out_shape, self.dtype, [("input", x_in)])
        xb = pad_input(np.ascontiguousarray(xb, dtype=self.dtype), problem)
        result = run_conv(problem, xb, self._weight, self._bias, out_cf,
                          algorithm=self.algorithm, isa=self._isa, packed=self._packed,
                          variant=self.variant)
        return out if out is not None else from_channels_first(result, self.layout, nd)


_PLAN_DOC = """Prepare a {nd}-D convolution with fixed weights for many inputs.

    The arguments are those of :func:`fastconv.conv{nd}d`, with the input's
    shape instead of the input. The plan validates them, resolves
    ``algorithm='auto'`` and prepares the weights once (Winograd's
    transformed weights ``G g G^T``, im2col's packed panels), so each call
    only transforms its input and runs the kernel: an inference loop pays the
    weight transform once. A plain :func:`fastconv.conv{nd}d` call does the
    same work every time.

    Parameters
    ----------
    weight : array_like
        Filters of shape ``(C_out, C_in // groups, {kernel})``; copied, so
        later changes to the caller's array do not affect the plan.
    input_shape : tuple of ints
        Shape of the inputs, ``(N, C_in, {spatial})`` or unbatched (in the
        given ``layout``). Calls may use any batch size ``N``.
    bias, stride, padding, dilation, groups, padding_mode, layout
        As in :func:`fastconv.conv{nd}d`.
    algorithm : {{'auto', 'direct', 'im2col', 'winograd'}}, default 'auto'
        As in :func:`fastconv.conv{nd}d`. ``'auto'`` is resolved now, knowing
        that the weights are prepared once: by a matching wisdom entry if
        there is one (see :func:`fastconv.import_wisdom`), else by the rule,
        which picks Winograd wherever it applies with at least 16 input and
        16 output channels per group (a plain call also asks for enough tiles
        to amortise the transform), else im2col or direct by the plain
        call's rule.
    dtype : {{None, float32, float64}}, default None
        The computation dtype; None: the weights' (and bias') float dtype
        (float64 for integers). Inputs are converted to it.
    tune : bool, default False
        Measure instead of following the rule (FFTW's ``FFTW_MEASURE``):
        time every applicable algorithm and block size on random data of
        ``input_shape`` with the plan's weights, at the current thread
        count, and keep the fastest. The result is recorded as wisdom, so
        later plans, and plain calls with ``algorithm='auto'``, of the same
        problem follow it; a problem that already has wisdom is not measured
        again (:func:`fastconv.forget_wisdom` to re-measure). Needs
        ``algorithm='auto'``.
    tune_budget : float, default 1.0
        About how many seconds the measurement may take. The rule's choice is
        always timed; the other candidates as long as the budget lasts.

    Returns
    -------
    ConvPlan
        Callable as ``plan(x, out=None)``; its ``algorithm``, ``dtype``,
        ``input_shape`` and ``output_shape`` attributes describe it.

    Raises
    ------
    ValueError
        For the errors of :func:`fastconv.conv{nd}d`, a bad ``input_shape``,
        ``dtype`` or ``tune_budget``, ``tune=True`` with a named algorithm; at
        call time, for an input whose shape (other than the batch size)
        differs from ``input_shape``, or a bad ``out``.
    TypeError
        If ``tune`` is not a bool.

    See Also
    --------
    fastconv.conv{nd}d : the same convolution in one call.

    Examples
    --------
{example}
"""

_PLAN_EXAMPLES = {
    1: """    >>> import numpy as np, fastconv
    >>> w = np.ones((4, 2, 3), dtype=np.float32)
    >>> plan = fastconv.plan_conv1d(w, (1, 2, 10), padding=1)
    >>> plan(np.ones((1, 2, 10), dtype=np.float32))[0, 0]
    array([4., 6., 6., 6., 6., 6., 6., 6., 6., 4.], dtype=float32)""",
    2: """    >>> import numpy as np, fastconv
    >>> rng = np.random.default_rng(0)
    >>> w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    >>> plan = fastconv.plan_conv2d(w, (1, 64, 28, 28), padding=1)
    >>> plan.algorithm, plan.output_shape
    ('winograd', (1, 64, 28, 28))
    >>> for _ in range(3):                      # weights transformed only once
    ...     x = rng.standard_normal((1, 64, 28, 28)).astype(np.float32)
    ...     y = plan(x)
    >>> ref = fastconv.reference.conv2d(x, w, padding=1)
    >>> bool(np.allclose(y, ref, rtol=1e-4, atol=1e-3))
    True
    >>> plan(np.zeros((4, 64, 28, 28), np.float32)).shape   # another batch size
    (4, 64, 28, 28)
    >>> tuned = fastconv.plan_conv2d(w, (1, 64, 28, 28), padding=1, tune=True,
    ...                              tune_budget=0.2)     # measured, kept as wisdom
    >>> tuned.algorithm in ("direct", "im2col", "winograd")
    True
    >>> bool(np.allclose(tuned(x), ref, rtol=1e-4, atol=1e-3))
    True""",
    3: """    >>> import numpy as np, fastconv
    >>> w = np.ones((2, 1, 3, 3, 3))
    >>> plan = fastconv.plan_conv3d(w, (1, 1, 4, 4, 4), algorithm="winograd")
    >>> plan(np.ones((1, 1, 4, 4, 4)))[0, 0, 0]
    array([[27., 27.],
           [27., 27.]])""",
}


def plan_conv1d(weight, input_shape, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
                padding_mode="zeros", algorithm="auto", layout="channels_first", dtype=None,
                tune=False, tune_budget=TUNE_BUDGET):
    return ConvPlan(1, weight, input_shape, bias, stride, padding, dilation, groups,
                    padding_mode, algorithm, layout, dtype, tune, tune_budget)


def plan_conv2d(weight, input_shape, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
                padding_mode="zeros", algorithm="auto", layout="channels_first", dtype=None,
                tune=False, tune_budget=TUNE_BUDGET):
    return ConvPlan(2, weight, input_shape, bias, stride, padding, dilation, groups,
                    padding_mode, algorithm, layout, dtype, tune, tune_budget)


def plan_conv3d(weight, input_shape, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
                padding_mode="zeros", algorithm="auto", layout="channels_first", dtype=None,
                tune=False, tune_budget=TUNE_BUDGET):
    return ConvPlan(3, weight, input_shape, bias, stride, padding, dilation, groups,
                    padding_mode, algorithm, layout, dtype, tune, tune_budget)


for _nd, _f in ((1, plan_conv1d), (2, plan_conv2d), (3, plan_conv3d)):
    _f.__module__ = "fastconv"
    _f.__doc__ = _PLAN_DOC.format(nd=_nd, example=_PLAN_EXAMPLES[_nd], **SPATIAL_NAMES[_nd])
del _nd, _f
ConvPlan.__module__ = "fastconv"
