"""``show_config``: how this fastconv was built and what it runs with."""
import importlib.metadata
import os
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


# CPU features that decide the SIMD level (x86), as /proc/cpuinfo names them.
_SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq")
# Environment variables that change what fastconv (or its OpenMP/BLAS) does.
_ENV_PREFIXES = ("FASTCONV_", "OMP_", "GOMP_", "KMP_", "OPENBLAS_", "MKL_")


def _cpu_simd_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return [flag for flag in _SIMD_FLAGS if flag in have]
    except OSError:
        pass
    return None


def _installation():
    """Where fastconv is imported from and how it was installed."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        dist = importlib.metadata.distribution("fastconv")
        files = {str(f) for f in (dist.files or [])}
        tags = [line.split(":", 1)[1].strip() for line in (dist.read_text("WHEEL") or "")
                .splitlines() if line.startswith("Tag:")]
        installed = os.path.realpath(str(dist.locate_file("fastconv"))) == os.path.realpath(here)
    except importlib.metadata.PackageNotFoundError:
        files, tags, installed = set(), [], False
    if not installed:
        how = "source tree (not installed)"
    elif "direct_url.json" in {os.path.basename(f) for f in files} and \
            '"editable": true' in (dist.read_text("direct_url.json") or ""):
        how = "editable install"
    elif tags:
        how = "wheel " + ", ".join(tags)
    else:   # metadata of a build inside the source tree (an .egg-info)
        how = "source tree (not installed)"
    return {"location": here, "installed_as": how}


def _versions():
    out = {}
    for name in ("threadpoolctl", "scipy"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def get_config():
    """Return the configuration that :func:`show_config` prints, as a dict.

    Returns
    -------
    dict
        Keys ``version``, ``python``, ``numpy``, ``platform``, ``cpu``,
        ``cpu_simd_flags`` (the x86 features that decide the SIMD level, from
        ``/proc/cpuinfo``; None elsewhere), ``location`` and ``installed_as``
        (wheel and its tag, editable install or source tree),
        ``dependencies`` (threadpoolctl and SciPy versions), ``environment``
        (the ``FASTCONV_*``, ``OMP_*``, ``OPENBLAS_*``... variables set),
        ``isa`` (SIMD level in use), ``isa_supported`` (the best one this CPU
        runs), ``isa_compiled`` (every level in this build), ``isa_emulated``
        (``"avx512"`` in an emulated-AVX-512 test build, else None), ``openmp`` (True when
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
        "cpu_simd_flags": _cpu_simd_flags(),
        **_installation(),
        "dependencies": _versions(),
        "environment": {k: v for k, v in sorted(os.environ.items())
                        if k.startswith(_ENV_PREFIXES)},
        "isa": _gemm.isa_get(),
        "isa_supported": _gemm.isa_supported(),
        "isa_compiled": list(_gemm.isa_compiled()),
        "isa_emulated": _gemm.isa_emulated(),
        "openmp": OPENMP_ENABLED,
        "threads": get_num_threads(),
        "openmp_max_threads": openmp_max_threads(),
        "cpus": openmp_num_procs(),
        "build": dict(BUILD_INFO),
        "threadpools": pools,
    }


def show_config():
    """Print how fastconv was built and what it runs with.

    Everything a bug report needs: the versions of fastconv, Python, NumPy,
    threadpoolctl and SciPy, where fastconv is imported from and how it was
    installed (wheel tag, editable install, source tree), the CPU and its SIMD
    features, the SIMD level in use, the best one this CPU supports and the
    levels compiled in, whether the kernels were really compiled with OpenMP,
    the thread count the next call uses, the compiler and flags of the build,
    the environment variables that change fastconv's behaviour, and the
    BLAS/OpenMP libraries loaded in the process (threadpoolctl).
    ``python -m fastconv info`` prints the same.

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
        f"  location        {cfg['location']} ({cfg['installed_as']})",
        "  dependencies    " + "   ".join(f"{k} {v or 'not installed'}"
                                         for k, v in cfg["dependencies"].items()),
        f"  cpu             {cfg['cpu']} ({cfg['cpus']} usable)",
        f"  cpu simd flags  {' '.join(cfg['cpu_simd_flags']) if cfg['cpu_simd_flags'] is not None else '?'}",
        f"  simd level      {cfg['isa']} (best supported: {cfg['isa_supported']}; "
        f"FASTCONV_ISA may lower it)",
        f"  simd compiled   {', '.join(cfg['isa_compiled'])}"
        + (f"   ({cfg['isa_emulated']} EMULATED on AVX2: a test build)"
           if cfg["isa_emulated"] else ""),
        f"  openmp          {'on' if cfg['openmp'] else 'OFF (serial build)'}",
        f"  threads         {cfg['threads']} (OpenMP max {cfg['openmp_max_threads']})",
        f"  compiler        {build.get('compiler', '?')}",
        f"  compile flags   {build.get('compile_args', '?')}",
        f"  link flags      {build.get('link_args', '?')}",
        f"  debug build     {build.get('debug', '?')}",
        "  environment     " + ("   ".join(f"{k}={v}" for k, v in cfg["environment"].items())
                                or "(no FASTCONV_/OMP_/BLAS variables set)"),
        "  thread pools loaded (threadpoolctl):",
    ]
    for pool in cfg["threadpools"]:
        lines.append(f"    {pool.get('user_api', '?'):8s} {pool.get('internal_api', '?'):10s} "
                     f"threads={pool.get('num_threads', '?')}  {pool.get('filepath', '')}")
    if not cfg["threadpools"]:
        lines.append("    (none)")
    print("\n".join(lines))
