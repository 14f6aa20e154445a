"""Packaging: one version everywhere, and the release pipeline's build list.

* The version is written once (``fastconv/_version.py``): ``__version__``,
  the installed distribution's metadata (the wheel's), the docs' ``release``
  and CHANGELOG.md's newest release heading agree with it.
* ``cibuildwheel --print-build-identifiers`` lists exactly the intended
  release builds (CPython 3.10-3.13 on manylinux/musllinux x86_64 + aarch64,
  macOS x86_64 + arm64, Windows AMD64); skipped where cibuildwheel is not
  installed (CI installs it).
"""
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import fastconv
from fastconv import _version

PKG_DIR = os.path.dirname(os.path.abspath(fastconv.__file__))
ROOT = os.path.dirname(PKG_DIR)
in_checkout = pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "pyproject.toml")),
                                 reason="needs the source checkout")


def test_version_is_written_once():
    assert fastconv.__version__ == _version.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", fastconv.__version__)


def test_installed_metadata_has_the_same_version():
    try:
        dist = importlib.metadata.distribution("fastconv")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("fastconv is not installed (a source tree on sys.path)")
    location = os.path.realpath(str(dist.locate_file("fastconv")))
    if location != os.path.realpath(PKG_DIR) and not (dist.read_text("direct_url.json") or "") \
            .count('"editable": true'):
        pytest.skip(f"the installed fastconv ({location}) is not the one under test")
    assert dist.version == fastconv.__version__


@in_checkout
def test_changelog_names_the_version():
    with open(os.path.join(ROOT, "CHANGELOG.md")) as f:
        headings = re.findall(r"^## (\S+)", f.read(), flags=re.M)
    released = [h for h in headings if h.lower() != "unreleased"]
    assert released, "CHANGELOG.md has no release heading"
    assert released[0] == fastconv.__version__, (
        f"CHANGELOG.md's newest release is {released[0]}, fastconv/_version.py says "
        f"{fastconv.__version__}")


@in_checkout
def test_docs_release_is_the_version():
    conf = os.path.join(ROOT, "docs", "conf.py")
    if not os.path.exists(conf):
        pytest.skip("no docs")
    namespace = {"__file__": conf}
    with open(conf) as f:
        exec(compile(f.read(), conf, "exec"), namespace)
    assert namespace["release"] == fastconv.__version__
    assert namespace["version"] == ".".join(fastconv.__version__.split(".")[:2])


@in_checkout
def test_pyproject_takes_the_version_from_the_package():
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        text = f.read()
    assert re.search(r'^dynamic = \["version"\]', text, flags=re.M)
    assert 'version = {attr = "fastconv._version.__version__"}' in text
    assert not re.search(r"^version\s*=\s*\"", text, flags=re.M)


EXPECTED_BUILDS = {
    "linux": [f"cp3{v}-{libc}_{arch}" for libc in ("manylinux", "musllinux")
              for arch in ("x86_64", "aarch64") for v in (10, 11, 12, 13)],
    "macos": [f"cp3{v}-macosx_{arch}" for arch in ("x86_64", "arm64") for v in (10, 11, 12, 13)],
    "windows": [f"cp3{v}-win_amd64" for v in (10, 11, 12, 13)],
}


@in_checkout
@pytest.mark.parametrize("platform", sorted(EXPECTED_BUILDS))
def test_release_pipeline_builds_the_intended_wheels(platform):
    exe = shutil.which("cibuildwheel", path=os.path.dirname(sys.executable)) \
        or shutil.which("cibuildwheel")
    if exe is None:
        pytest.skip("cibuildwheel is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
    result = subprocess.run([exe, "--print-build-identifiers", "--platform", platform, ROOT],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == sorted(EXPECTED_BUILDS[platform])


def test_openmp_runtime_loaded_is_the_bundled_one():
    """In a repaired wheel (auditwheel/delocate/delvewheel), the OpenMP runtime
    threadpoolctl sees loaded is the copy inside the wheel, not a system one.
    ``FASTCONV_EXPECT_BUNDLED_OPENMP=1`` (CI's wheel run) makes a missing copy a
    failure instead of a skip."""
    from threadpoolctl import threadpool_info

    from fastconv._kernels._openmp import OPENMP_ENABLED

    site = os.path.dirname(PKG_DIR)
    bundle_dirs = [os.path.join(site, "fastconv.libs"), os.path.join(PKG_DIR, ".dylibs")]
    bundled = [d for d in bundle_dirs if os.path.isdir(d)]
    if not bundled:
        if os.environ.get("FASTCONV_EXPECT_BUNDLED_OPENMP") == "1":
            pytest.fail(f"no bundled runtime directory ({' or '.join(bundle_dirs)}): "
                        "fastconv was not installed from a repaired wheel")
        pytest.skip("not installed from a repaired wheel")
    assert OPENMP_ENABLED
    fastconv.conv2d(np.ones((1, 2, 9, 9)), np.ones((3, 2, 3, 3)))   # the kernels are loaded
    openmp = [p for p in threadpool_info() if p["user_api"] == "openmp"]
    ours = [p for p in openmp
            if any(os.path.realpath(p["filepath"]).startswith(os.path.realpath(d))
                   for d in bundled)]
    assert ours, f"the bundled OpenMP runtime is not loaded; threadpoolctl sees: {openmp}"


def test_info_prints_what_a_bug_report_needs(capsys, monkeypatch):
    monkeypatch.setenv("FASTCONV_ISA", "generic")      # read at import only: just reported
    from fastconv.__main__ import main

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    cfg = fastconv.get_config()
    for needed in (f"fastconv {fastconv.__version__}", f"numpy {np.__version__}",
                   cfg["location"], cfg["installed_as"], "simd level", "simd compiled",
                   "openmp", "compile flags", "FASTCONV_ISA=generic", "thread pools"):
        assert needed in out, f"`python -m fastconv info` lacks {needed!r}:\n{out}"
    if cfg["cpu_simd_flags"] is not None:
        assert "cpu simd flags" in out


@in_checkout
def test_wheel_check_requires_the_typing_marker_and_every_public_stub(tmp_path):
    import zipfile
    sys.path.insert(0, os.path.join(ROOT, "tools", "wheels"))
    try:
        import check_wheel
    finally:
        sys.path.pop(0)
    lic = "fastconv-1.0.0.dist-info/licenses/licenses/"
    base = ["fastconv-1.0.0.dist-info/METADATA", "fastconv.libs/libgomp-1a2b.so.1.0.0",
            lic + "BUNDLED.txt", lic + "GPL-3.0.txt", lic + "GCC-exception-3.1.txt",
            "fastconv/__init__.py", "fastconv/_args.py", "fastconv/grad.py",
            "fastconv/dask/__init__.py", "fastconv/dask/_api.py"]
    stubs = ["fastconv/py.typed", "fastconv/__init__.pyi", "fastconv/grad.pyi",
             "fastconv/dask/__init__.pyi"]

    def wheel(names):
        path = tmp_path / "fastconv-1.0.0-cp311-cp311-manylinux_2_34_x86_64.whl"
        with zipfile.ZipFile(path, "w") as zf:
            for n in names:
                zf.writestr(n, "")
            zf.writestr("fastconv/_build_info.py", "BUILD_INFO = {'openmp': True}\n")
        return str(path)

    assert check_wheel.problems(wheel(base + stubs)) == []
    found = check_wheel.problems(wheel(base + stubs[1:]))
    assert len(found) == 1 and "no fastconv/py.typed" in found[0]
    found = check_wheel.problems(wheel(base + [s for s in stubs if "grad" not in s]))
    assert len(found) == 1 and "no type stub fastconv/grad.pyi" in found[0]
