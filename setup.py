"""Build script for fastconv's compiled kernels.

Everything that decides how the extensions are compiled lives here, in one place:

* the Cython compiler directives (``CYTHON_DIRECTIVES``), with ``FASTCONV_DEBUG=1``
  switching bounds and wraparound checks on;
* OpenMP detection: a small test program is compiled and run with ``-fopenmp``.
  Without OpenMP the package still builds (serially) with a loud warning;
  ``FASTCONV_REQUIRE_OPENMP=1`` turns a missing OpenMP into an error (CI sets it);
* optimisation flags that are safe for a distributable wheel (no ``-march=native``
  unless ``FASTCONV_NATIVE=1`` asks for it on a local build). SIMD levels above
  the x86-64 baseline are compiled per function and chosen at run time;
  ``FASTCONV_EMULATE_AVX512=1`` makes a test build whose AVX-512 level is
  compiled for AVX2 (``fastconv/_kernels/isa.h``), never one to distribute.
* sanitizers: ``FASTCONV_SANITIZE=address,undefined`` (either or both) builds
  the kernels with AddressSanitizer / UndefinedBehaviorSanitizer (signed
  overflow and alignment included), ``-O0 -g -fno-omit-frame-pointer``, every
  report fatal. Python is not instrumented: run it with the ASan runtime
  preloaded (``LD_PRELOAD=$(gcc -print-file-name=libasan.so)``, see ``.ci/run``).
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import warnings

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext as _build_ext

KERNELS = os.path.join("fastconv", "_kernels")


def _env_flag(name):
    return os.environ.get(name, "0").strip().lower() in ("1", "true", "yes", "on")


DEBUG = _env_flag("FASTCONV_DEBUG")
NATIVE = _env_flag("FASTCONV_NATIVE")
REQUIRE_OPENMP = _env_flag("FASTCONV_REQUIRE_OPENMP")
EMULATE_AVX512 = _env_flag("FASTCONV_EMULATE_AVX512")
SANITIZERS = ("address", "undefined")


def sanitize_flags(value=None):
    """Compile and link flags of ``FASTCONV_SANITIZE`` (a comma-separated
    subset of SANITIZERS; empty: none)."""
    value = os.environ.get("FASTCONV_SANITIZE", "") if value is None else value
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in SANITIZERS]
    if unknown:
        raise SystemExit(f"FASTCONV_SANITIZE={value!r}: unknown sanitizer(s) {unknown}; "
                         f"use a comma-separated subset of {', '.join(SANITIZERS)}")
    if not names:
        return [], []
    flags = ["-fsanitize=" + ",".join(names)]
    if "undefined" in names:       # part of "undefined"; named to keep them on
        flags.append("-fsanitize=signed-integer-overflow,alignment")
    flags.append("-fno-sanitize-recover=all")
    # -fno-wrapv: Python's own flags make signed overflow wrap, which would
    # hide it from the check.
    # -O0: a quarter of -O1's compile time with the instrumentation (the
    # build is for checking, not speed; every access is checked either way).
    return flags + ["-O0", "-g", "-fno-omit-frame-pointer", "-fno-wrapv"], flags


CYTHON_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "nonecheck": DEBUG,
    "embedsignature": True,
    "cpow": True,
}


def _compiler_command():
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return cc.split()


def _env_flags(*names):
    """Flags the user passes to every compile (CFLAGS, CPPFLAGS) or link (LDFLAGS)."""
    return [f for name in names for f in os.environ.get(name, "").split()]


def _try_program(code, compile_flags, link_flags, run=True):
    """Compile, link (and run) a small C program; True if every step succeeds."""
    tmp = tempfile.mkdtemp(prefix="fastconv-probe-")
    try:
        src = os.path.join(tmp, "check.c")
        exe = os.path.join(tmp, "check")
        with open(src, "w") as f:
            f.write(code)
        cmd = (_compiler_command() + _env_flags("CPPFLAGS", "CFLAGS") + compile_flags
               + [src, "-o", exe] + _env_flags("LDFLAGS") + link_flags)
        try:
            subprocess.run(cmd, check=True, capture_output=True)
            if run:
                subprocess.run([exe], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            return False
        return True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# (compile flags, link flags) of OpenMP, tried in order: GCC and LLVM clang;
# Apple clang, which needs LLVM's libomp (its headers and library in
# CPPFLAGS/CFLAGS and LDFLAGS).
OPENMP_CANDIDATES = [(["-fopenmp"], ["-fopenmp"]), (["-Xpreprocessor", "-fopenmp"], ["-lomp"])]


def check_openmp():
    """Compile, link and run a small OpenMP program; return the working
    ``(compile_flags, link_flags)`` or None."""
    code = textwrap.dedent(
        """
        #include <omp.h>
        #include <stdio.h>
        int main(void) {
            int n = 0;
            #pragma omp parallel reduction(+:n)
            n += 1;
            printf("%d %d\\n", n, omp_get_max_threads());
            return n >= 1 ? 0 : 1;
        }
        """
    )
    for compile_flags, link_flags in OPENMP_CANDIDATES:
        if _try_program(code, compile_flags, link_flags):
            return compile_flags, link_flags
    return None


NO_COMPILER = (
    "fastconv: no working C compiler ({cc!r} could not compile and link a test "
    "program). Building fastconv from source needs one, with the Python headers:\n"
    "  Debian/Ubuntu:  apt-get install gcc python3-dev\n"
    "  Fedora/RHEL:    dnf install gcc python3-devel\n"
    "  Alpine:         apk add gcc musl-dev python3-dev\n"
    "  macOS:          xcode-select --install  (and LLVM's libomp for OpenMP)\n"
    "  conda:          conda install -c conda-forge c-compiler\n"
    "or set CC to a compiler. Binary wheels need no compiler: "
    "`pip install --only-binary=fastconv fastconv` (docs: Installation)."
)


def check_c_compiler():
    """Stop with a message saying what to install when there is no C compiler."""
    if sys.platform == "win32":      # MSVC is found by setuptools itself
        return
    if not _try_program("int main(void) { return 0; }\n", [], [], run=False):
        raise SystemExit(NO_COMPILER.format(cc=" ".join(_compiler_command())))


def openmp_flags():
    if sys.platform == "win32":  # MSVC: /openmp, not probed here
        return ["/openmp"], []
    flags = check_openmp()
    if flags is None:
        message = (
            "fastconv: no working OpenMP found (compiling a test program with "
            "-fopenmp failed). The kernels will be built SERIALLY and use one "
            "core. Install a compiler with OpenMP support (gcc, or clang with "
            "libomp) to get parallel kernels."
        )
        if REQUIRE_OPENMP:
            raise SystemExit(message + " (FASTCONV_REQUIRE_OPENMP=1 makes this fatal.)")
        warnings.warn(message)
        print("\n" + "*" * 78 + "\n" + message + "\n" + "*" * 78 + "\n", file=sys.stderr)
        return [], []
    return flags


def build_flags():
    compile_args = ["-O3", "-fno-math-errno", "-fno-trapping-math"]
    if DEBUG:
        compile_args = ["-O1", "-g"]
    if NATIVE:
        compile_args.append("-march=native")
    san_compile, san_link = sanitize_flags()
    omp_compile, omp_link = openmp_flags()
    return compile_args + san_compile + omp_compile, omp_link + san_link, bool(omp_compile)


def _jobs():
    """Parallel jobs of a build: ``FASTCONV_BUILD_JOBS``, else one per usable core."""
    jobs = os.environ.get("FASTCONV_BUILD_JOBS", "")
    if jobs:
        return max(1, int(jobs))
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def extensions():
    check_c_compiler()
    compile_args, link_args, has_openmp = build_flags()
    macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
    if EMULATE_AVX512:
        macros.append(("FC_EMULATE_AVX512", "1"))
    common = dict(
        include_dirs=[np.get_include(), KERNELS],
        define_macros=macros,
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )
    # Every ``_kernels/_NAME.pyx`` is an extension; ``NAME.c`` next to it, if
    # present, is compiled into it, plus the shared C sources listed here.
    shared_sources = {"_conv": ["gemm.c"], "_gemm": ["gemm.c"], "_grad": ["gemm.c"],
                      "_separable": ["conv.c", "gemm.c"]}
    sources = {}
    for pyx in sorted(f for f in os.listdir(KERNELS) if f.endswith(".pyx")):
        name = pyx[:-4]
        own_c = name.lstrip("_") + ".c"
        srcs = [pyx] + ([own_c] if os.path.exists(os.path.join(KERNELS, own_c)) else [])
        sources[name] = srcs + [s for s in shared_sources.get(name, []) if s not in srcs]
    # Headers the C sources include: a change to one rebuilds its extensions.
    headers = sorted(os.path.join(KERNELS, f) for f in os.listdir(KERNELS) if f.endswith(".h"))
    exts = [
        Extension(
            f"fastconv._kernels.{name}",
            [os.path.join(KERNELS, s) for s in srcs],
            depends=headers,
            **common,
        )
        for name, srcs in sources.items()
    ]
    info = {
        "compiler": " ".join(_compiler_command()),
        "compile_args": " ".join(compile_args),
        "link_args": " ".join(link_args),
        "openmp": has_openmp,
        "debug": DEBUG,
        "native": NATIVE,
        "sanitize": ",".join(n for n in SANITIZERS
                             if n in os.environ.get("FASTCONV_SANITIZE", "")),
        "emulate_avx512": EMULATE_AVX512,
    }
    with open(os.path.join("fastconv", "_build_info.py"), "w") as f:
        f.write('"""Written by setup.py at build time: how the kernels were compiled."""\n')
        f.write(f"BUILD_INFO = {info!r}\n")
    return cythonize(
        exts,
        compiler_directives=CYTHON_DIRECTIVES,
        annotate=False,
        quiet=True,
        nthreads=_jobs(),
    )


class build_ext(_build_ext):
    """build_ext that compiles every C source once, in parallel.

    setuptools builds extensions, not sources: a C file shared by several
    extensions (``gemm.c`` is in four) is compiled once per extension, into
    the same object file, by jobs that may run at the same time; and one
    extension's sources compile one after the other. Here each distinct
    source of the extensions to build is one job (the longest first), its
    object shared by the extensions that list it; then each extension is
    linked from its objects. Jobs: one per usable core unless told
    otherwise (pip's builds pass no ``-j``); ``--parallel N`` / ``-j N`` or
    ``FASTCONV_BUILD_JOBS=N`` set the count.
    """

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = _jobs()

    @staticmethod
    def _settings(ext):
        """What decides an extension's object files (the same source compiled
        with other settings is another object)."""
        return (tuple(ext.define_macros), tuple(ext.undef_macros), tuple(ext.include_dirs),
                tuple(ext.extra_compile_args or []))

    def build_extensions(self):
        from concurrent.futures import ThreadPoolExecutor

        def newer(deps, target):
            if not os.path.exists(target):
                return True
            built = os.path.getmtime(target)
            return any(os.path.getmtime(d) > built for d in deps if os.path.exists(d))

        self.check_extensions_list(self.extensions)
        stale = [ext for ext in self.extensions
                 if self.force or newer(list(ext.sources) + list(ext.depends),
                                        self.get_ext_fullpath(ext.name))]
        jobs = {}                      # (source, settings) -> an extension that lists it
        for ext in stale:
            for src in ext.sources:
                jobs.setdefault((src, self._settings(ext)), ext)
        if len({settings for _, settings in jobs}) > 1:
            raise SystemExit("fastconv: extensions compiled with different settings share "
                             "one build directory; give them their own build_temp")

        def compile_one(item):
            (src, _), ext = item
            macros = ext.define_macros + [(name,) for name in ext.undef_macros]
            return self.compiler.compile([src], output_dir=self.build_temp, macros=macros,
                                         include_dirs=ext.include_dirs, debug=self.debug,
                                         extra_postargs=ext.extra_compile_args or [],
                                         depends=ext.depends)[0]

        order = sorted(jobs.items(), key=lambda item: -os.path.getsize(item[0][0]))
        workers = max(1, int(self.parallel))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            objects = dict(zip((key for key, _ in order), pool.map(compile_one, order)))
            links = []
            for ext in stale:
                own = [objects[(src, self._settings(ext))] for src in ext.sources]
                links.append(pool.submit(self._link, ext, own))
            for fut in links:
                fut.result()

    def _link(self, ext, objects):
        """Link one extension from its compiled objects: setuptools'
        ``build_extension`` with nothing left to compile."""
        sources, extra_objects, depends = ext.sources, ext.extra_objects, ext.depends
        try:
            ext.sources = []
            ext.extra_objects = objects + list(extra_objects or [])
            ext.depends = objects            # newer than the library: it is linked
            super().build_extension(ext)
        finally:
            ext.sources, ext.extra_objects, ext.depends = sources, extra_objects, depends


# Commands that only collect sources and metadata: no compiler, no Cython run
# (MANIFEST.in lists the kernels' sources for the sdist).
SOURCE_COMMANDS = ("sdist", "egg_info")

if __name__ == "__main__":   # setuptools runs this file as __main__; tests import it
    source_only = len(sys.argv) > 1 and sys.argv[1] in SOURCE_COMMANDS
    setup(ext_modules=[] if source_only else extensions(), cmdclass={"build_ext": build_ext})
