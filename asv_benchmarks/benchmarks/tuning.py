"""asv benchmarks of the measuring planner and wisdom.

``TunedPlans`` calls plans made with ``tune=True`` (FFTW-style measuring, see
the docs' "Plans, tuning and wisdom" page) on the shapes of ``conv.Plans``,
next to plans made with the rule (``algorithm="auto"``): ``time_call`` per
call for ``tune`` in (False, True), and ``track_tuned_over_rule``, the tuned
plan's best time over the rule's (below 1: tuning found something faster;
it should never be much above 1). ``time_make`` is what a tuned plan costs to
make (about its budget). ``Wisdom`` measures what a plain call pays to look
up a matching wisdom entry, and the round trip through a file. Everything is
skipped on versions without ``tune=``.
"""
import inspect
import os
import tempfile

import fastconv

from . import common
from .conv import PLAN_CASES

#: Seconds of measurement per tuned plan.
BUDGET = common.pick(1.0, 0.1)


def _require_tuning():
    make = common.require_function("plan_conv2d")
    if "tune" not in inspect.signature(make).parameters:
        raise NotImplementedError("this fastconv version has no tune= for plans")
    for name in ("forget_wisdom", "export_wisdom", "import_wisdom"):
        common.require_function(name)


class TunedPlans:
    """Plans chosen by measurement against plans chosen by the rule."""

    params = (list(PLAN_CASES), [False, True], common.THREADS)
    param_names = ("case", "tune", "threads")
    repeat = (3, 10, 20.0)
    number = 1
    timeout = 300

    def setup(self, case, tune, threads):
        _require_tuning()
        common.set_threads(threads)
        cls = PLAN_CASES[case]
        self.make_plan = common.require_function(f"plan_conv{cls.ndim}d")
        self.x = common.random_array(cls.x_shape, "float32", seed=0)
        self.w = common.random_array(cls.w_shape, "float32", seed=1)
        self.b = common.random_array(cls.w_shape[:1], "float32", seed=2)
        self.kwargs = dict(cls.conv_kwargs)
        fastconv.forget_wisdom()
        self.plan = self._make(tune)
        self.plan(self.x)

    def teardown(self, case, tune, threads):
        fastconv.forget_wisdom()
        common.restore_threads()

    def _make(self, tune):
        return self.make_plan(self.w, self.x.shape, self.b, tune=tune, tune_budget=BUDGET,
                              **self.kwargs)

    def time_call(self, case, tune, threads):
        self.plan(self.x)

    def time_make(self, case, tune, threads):
        fastconv.forget_wisdom()
        self._make(tune)

    def track_tuned_over_rule(self, case, tune, threads):
        if not tune:
            # The ratio belongs to the tune=True row; asv shows NaN as n/a (an
            # exception raised here, outside setup, would count as a failure).
            return float("nan")
        rule = self.make_plan(self.w, self.x.shape, self.b, **self.kwargs)
        fastconv.forget_wisdom()
        repeats = common.pick(20, 3)
        return (common.best_time(lambda: self.plan(self.x), repeats)
                / common.best_time(lambda: rule(self.x), repeats))

    track_tuned_over_rule.unit = "tuned / rule"


class Wisdom:
    """The cost of wisdom on a plain call, and of a file round trip."""

    params = ([False, True],)
    param_names = ("wisdom",)
    number = 20
    repeat = (3, 10, 20.0)

    def setup(self, wisdom):
        _require_tuning()
        common.set_threads(1)
        self.x = common.random_array((1, 8, 16, 16), "float32", seed=0)
        self.w = common.random_array((8, 8, 3, 3), "float32", seed=1)
        fastconv.forget_wisdom()
        if wisdom:
            fastconv.plan_conv2d(self.w, self.x.shape, padding=1, tune=True, tune_budget=0.05)
        self.path = os.path.join(tempfile.mkdtemp(), "wisdom.json")
        fastconv.conv2d(self.x, self.w, padding=1)

    def teardown(self, wisdom):
        fastconv.forget_wisdom()
        common.restore_threads()

    def time_auto_call(self, wisdom):
        fastconv.conv2d(self.x, self.w, padding=1)

    def time_export_import(self, wisdom):
        fastconv.export_wisdom(self.path)
        fastconv.import_wisdom(self.path)
