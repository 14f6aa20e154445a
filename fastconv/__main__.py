"""Command line of fastconv.

``python -m fastconv info``
    Print the build and runtime configuration (:func:`fastconv.show_config`).
``python -m fastconv bench [options]``
    Time every operation of fastconv (convolutions and plans, transposed,
    separable and octave convolution, image and signal filters, forward +
    backward passes) on typical problems against PyTorch, SciPy, OpenCV and
    NumPy, and check every result (see ``python -m fastconv bench --help`` and
    :mod:`fastconv._bench`). Algorithms that do not apply to a problem are
    reported as ``n/a``.

Exit status: 0 on success, 2 on a usage error, 1 when a benchmarked fastconv
result fails its correctness check (``FAIL``) or its call raises (``ERROR``).
"""
import argparse
import sys

import fastconv
from fastconv import _bench

PROG = "python -m fastconv"


def build_parser():
    """The argument parser of ``python -m fastconv`` with its subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="fastconv: Cython + OpenMP convolutions for NumPy arrays.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("info", help="print the build and runtime configuration",
                        description="Print the build and runtime configuration of fastconv.")
    bench = commands.add_parser(
        "bench", help="time typical layers against other libraries and check the results",
        description=_bench.DESCRIPTION)
    _bench.add_arguments(bench)
    return parser, bench


def main(argv=None):
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``python -m fastconv``.

    Returns
    -------
    int
        0 on success, 1 when a benchmarked fastconv result fails its check or
        raises (``n/a`` rows are not failures).

    Raises
    ------
    SystemExit
        With status 2 on a usage error, 0 after ``--help``.

    Examples
    --------
    >>> from fastconv.__main__ import main
    >>> main(["info"])  # doctest: +SKIP
    """
    parser, bench_parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    if args.command == "info":
        fastconv.show_config()
        return 0
    if args.command == "bench":
        return _bench.run(_bench.resolve_options(args, bench_parser))
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
