"""``show_config``: how this fastconv was built and what it runs with."""
import platform
import sys

import numpy as np

from fastconv._kernels import _gemm
from fastconv._kernels._openmp import OPENMP_ENABLED, openmp_max_threads, openmp_num_procs
from fastconv._threads import get_num_threads
from fastconv._version import __version__

try:
    from fastconv._build_info import BUILD_INFO
except ImportError:  # pragma: no cover - only in a source tree never built
    BUILD_INFO = {}


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def get_config():
    """Return the configuration that :func:`show_config` prints, as a dict.

    Returns
    -------
    dict
        Keys ``version``, ``python``, ``numpy``, ``platform``, ``cpu``,
        ``isa`` (SIMD level in use), ``isa_supported``, ``openmp`` (True when
        the kernels were compiled with OpenMP), ``threads`` (what the next call
        uses), ``openmp_max_threads``, ``cpus``, ``build`` (compiler and flags)
        and ``threadpools`` (threadpoolctl's ``threadpool_info()``: the BLAS and
        OpenMP libraries loaded in this process).

    Examples
    --------
    >>> import fastconv
    >>> config = fastconv.get_config()
    >>> config["isa"] in ("generic", "avx2", "avx512")
    True
    >>> config["threads"] == fastconv.get_num_threads()
    True
    """
    try:
        from threadpoolctl import threadpool_info
        pools = threadpool_info()
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        pools = []
    return {
        "version": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "isa": _gemm.isa_get(),
        "isa_supported": _gemm.isa_supported(),
        "openmp": OPENMP_ENABLED,
        "threads": get_num_threads(),
        "openmp_max_threads": openmp_max_threads(),
        "cpus": openmp_num_procs(),
        "build": dict(BUILD_INFO),
        "threadpools": pools,
    }


def show_config():
    """Print how fastconv was built and what it runs with.

    Reports the version, the SIMD level in use and the best one this CPU
    supports, whether the kernels were really compiled with OpenMP, the
    thread count the next call uses, the compiler and flags of the build, and
    the BLAS/OpenMP libraries loaded in the process (threadpoolctl).

    Examples
    --------
    >>> import fastconv
    >>> fastconv.show_config()  # doctest: +ELLIPSIS
    fastconv ...
    """
    cfg = get_config()
    build = cfg["build"]
    lines = [
        f"fastconv {cfg['version']}",
        f"  python          {cfg['python']}   numpy {cfg['numpy']}",
        f"  platform        {cfg['platform']}",
        f"  cpu             {cfg['cpu']} ({cfg['cpus']} usable)",
        f"  simd level      {cfg['isa']} (best supported: {cfg['isa_supported']}; "
        f"FASTCONV_ISA may lower it)",
        f"  openmp          {'on' if cfg['openmp'] else 'OFF (serial build)'}",
        f"  threads         {cfg['threads']} (OpenMP max {cfg['openmp_max_threads']})",
        f"  compiler        {build.get('compiler', '?')}",
        f"  compile flags   {build.get('compile_args', '?')}",
        f"  link flags      {build.get('link_args', '?')}",
        f"  debug build     {build.get('debug', '?')}",
        "  thread pools loaded (threadpoolctl):",
    ]
    for pool in cfg["threadpools"]:
        lines.append(f"    {pool.get('user_api', '?'):8s} {pool.get('internal_api', '?'):10s} "
                     f"threads={pool.get('num_threads', '?')}  {pool.get('filepath', '')}")
    if not cfg["threadpools"]:
        lines.append("    (none)")
    print("\n".join(lines))
