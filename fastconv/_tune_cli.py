"""``python -m fastconv tune``: measure the bench's layers and write a wisdom file.

For every chosen layer of the bench suites (``--suite``, default ``layers``;
or the layers named), at every thread count asked for:

* a convolution layer (``conv1d``/``conv2d``/``conv3d``) gets a plan made
  with ``tune=True``, which records two entries: one for plans and one for
  plain calls with ``algorithm="auto"``;
* an operation built on convolutions (transposed, separable and octave
  convolution, the training step) runs once with ``algorithm="auto"`` while
  measuring (:func:`fastconv._dispatch.tuning`): each convolution it runs
  records an entry for plain calls (one computed by a kernel of its own,
  such as the fused separable convolution or a strided transposed
  convolution, has nothing to measure);
* the image and signal filters (``correlate``, ``convolve``) are left to
  their rules and reported as such.

The file given by ``--output`` is read first when it exists, so repeated runs
(other layers, other thread counts) add to it; problems that already have
wisdom are not measured again unless ``--fresh`` is given. Load the file with
:func:`fastconv.import_wisdom` or the ``FASTCONV_WISDOM`` environment
variable.
"""
import os
import time

import fastconv
from fastconv import _bench, _dispatch, _tuning

DESCRIPTION = (
    "Measure every algorithm and block size on the bench's layers (or the layers "
    "given) at the chosen thread counts, and write the fastest as a wisdom file for "
    "fastconv.import_wisdom or the FASTCONV_WISDOM environment variable.")
DEFAULT_OUTPUT = "fastconv-wisdom.json"
CONV_OPS = ("conv1d", "conv2d", "conv3d")


def add_arguments(parser):
    """The options of ``tune``."""
    parser.add_argument("layers", nargs="*", metavar="LAYER",
                        help="layers to tune: exact names or substrings of names in the "
                             "chosen suites (default: all of them)")
    parser.add_argument("--suite", dest="suites", nargs="+", default=None, metavar="SUITE",
                        help="bench suites whose layers are tuned (default: layers; a "
                             "layer name given is looked up in every suite)")
    parser.add_argument("-o", "--output", default=DEFAULT_OUTPUT, metavar="FILE",
                        help=f"wisdom file to write, added to when it exists "
                             f"(default: {DEFAULT_OUTPUT})")
    parser.add_argument("--threads", nargs="+", type=int, default=None, metavar="N",
                        help="thread counts to tune for (default: the current "
                             "fastconv.get_num_threads())")
    parser.add_argument("--budget", type=float, default=_dispatch.TUNE_BUDGET, metavar="S",
                        help=f"seconds of measurement per problem (default "
                             f"{_dispatch.TUNE_BUDGET})")
    parser.add_argument("--fresh", action="store_true",
                        help="start from no wisdom: measure every problem again and write "
                             "only the new entries")
    return parser


def _suite_layers(name):
    module = _bench.suite_module(name)
    return tuple(getattr(module, "LAYERS", ())) if module is not None else ()


def resolve(args, parser):
    """Check the arguments; return the layers to tune."""
    if not (args.budget > 0 and args.budget < float("inf")):
        parser.error(f"--budget must be a positive number of seconds, got {args.budget}")
    if args.threads is not None and any(t == 0 for t in args.threads):
        parser.error("--threads must not be 0 (use a positive count, or -1 for all cores)")
    known = _bench.all_suites()
    suites = args.suites or ([_bench.DEFAULT_SUITE] if not args.layers else list(known))
    unknown = [s for s in suites if s not in known]
    if unknown:
        parser.error(f"--suite: unknown {', '.join(unknown)}; available: {', '.join(known)}")
    pool = [layer for s in suites for layer in _suite_layers(s)]
    if not args.layers:
        return pool
    chosen = []
    for pattern in args.layers:
        exact = [layer for layer in pool if layer.name == pattern]
        matches = exact or [layer for layer in pool if pattern in layer.name]
        if not matches:
            parser.error(f"no layer matches {pattern!r} in the suites {', '.join(suites)}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def tune_layer(layer, budget, emit):
    """Measure one layer at the current thread count; emit one line."""
    data = _bench.make_inputs(layer)
    before = _tuning.count()
    start = time.perf_counter()
    if layer.op in CONV_OPS:
        plan = getattr(fastconv, f"plan_conv{layer.nd}d")(
            data["w"], data["x"].shape, data["b"], stride=layer.stride,
            padding=layer.padding, dilation=layer.dilation, groups=layer.groups, tune=True,
            tune_budget=budget)
        what = f"plan: {plan.algorithm}" + (f" {plan.variant}" if plan.variant else "")
    elif layer.op in _bench.SIGNAL_OPS:
        emit(f"  {layer.name:23}  not tuned: the filters follow their cost model")
        return
    else:
        call = _bench.layer_call(layer, data, "auto")
        with _dispatch.tuning(budget):
            with _dispatch.recording() as log:
                call()
        what = ("convolutions: " + "+".join(dict.fromkeys(log)) if log else
                "no convolution with algorithm='auto' to measure (its own kernel)")
    emit(f"  {layer.name:23}  {what}  ({_tuning.count() - before} new entries, "
         f"{time.perf_counter() - start:.1f} s)")


def run(args, layers, emit=print):
    """Tune ``layers`` and write the file; return the exit status."""
    if args.fresh:
        _tuning.forget_wisdom()
    elif os.path.exists(args.output):
        _tuning.import_wisdom(args.output)
    previous = fastconv._threads._user_threads
    try:
        for threads in args.threads or [None]:
            if threads is not None:
                fastconv.set_num_threads(threads)
            emit(f"threads: {fastconv.get_num_threads()}")
            for layer in layers:
                tune_layer(layer, args.budget, emit)
    finally:
        fastconv.set_num_threads(previous)
    n = _tuning.export_wisdom(args.output)
    emit(f"wrote {n} entries to {args.output}")
    return 0


def main(args, parser, emit=print):
    """Run ``tune`` with parsed arguments."""
    layers = resolve(args, parser)
    return run(args, layers, emit)
