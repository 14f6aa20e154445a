"""The build script's compiler and OpenMP handling (only in a source checkout).

setup.py first checks that a C compiler works (without one it stops, saying
what to install), then probes OpenMP by compiling and running a small
program; without it the build goes on serially with a loud warning, unless
FASTCONV_REQUIRE_OPENMP=1 makes that an error (CI sets it).
"""
import importlib.util
import os
import shutil
import warnings

import pytest

import fastconv
from fastconv._kernels._openmp import OPENMP_ENABLED

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETUP = os.path.join(ROOT, "setup.py")

pytestmark = pytest.mark.skipif(not os.path.exists(SETUP), reason="needs the source checkout")


def load_setup(monkeypatch, **env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    spec = importlib.util.spec_from_file_location("fastconv_setup", SETUP)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.chdir(ROOT)
    spec.loader.exec_module(module)    # setup() itself only runs as __main__
    return module


@pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                    reason="no C compiler")
def test_probe_finds_openmp_with_the_build_compiler(monkeypatch):
    setup = load_setup(monkeypatch)
    flags = setup.check_openmp()
    # The probe and the compiled kernels agree on whether OpenMP is there.
    assert (flags is not None) == OPENMP_ENABLED
    if flags is not None:
        compile_flags, link_flags = flags
        assert "-fopenmp" in compile_flags


def test_a_compiler_without_openmp_gives_a_warned_serial_build(monkeypatch):
    setup = load_setup(monkeypatch, CC="false", FASTCONV_REQUIRE_OPENMP="0")
    assert setup.check_openmp() is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compile_flags, link_flags = setup.openmp_flags()
    assert compile_flags == [] and link_flags == []
    assert any("SERIALLY" in str(w.message) for w in caught)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_a_working_compiler_without_openmp_gives_a_warned_serial_build(monkeypatch, tmp_path):
    # gcc that refuses every OpenMP flag: a real compiler, no OpenMP.
    cc = tmp_path / "cc-without-openmp"
    cc.write_text('#!/bin/sh\nfor a in "$@"; do case "$a" in *openmp*|-lomp|-lgomp)\n'
                  '  echo "cc-without-openmp: $a unsupported" >&2; exit 1;; esac; done\n'
                  'exec gcc "$@"\n')
    cc.chmod(0o755)
    setup = load_setup(monkeypatch, CC=str(cc), FASTCONV_REQUIRE_OPENMP="0")
    setup.check_c_compiler()              # the compiler itself works
    assert setup.check_openmp() is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert setup.openmp_flags() == ([], [])
    assert any("SERIALLY" in str(w.message) for w in caught)


def test_no_c_compiler_stops_the_build_saying_what_to_install(monkeypatch, tmp_path):
    setup = load_setup(monkeypatch, CC=str(tmp_path / "no-such-cc"))
    with pytest.raises(SystemExit) as info:
        setup.extensions()
    message = str(info.value)
    assert "no working C compiler" in message and "no-such-cc" in message
    assert "apt-get install gcc python3-dev" in message and "xcode-select --install" in message
    assert "--only-binary" in message


def test_require_openmp_makes_a_missing_openmp_fatal(monkeypatch):
    setup = load_setup(monkeypatch, CC="false", FASTCONV_REQUIRE_OPENMP="1")
    with pytest.raises(SystemExit, match="FASTCONV_REQUIRE_OPENMP"):
        setup.openmp_flags()


def test_debug_switch_turns_bounds_checks_on(monkeypatch):
    assert load_setup(monkeypatch, FASTCONV_DEBUG="0").CYTHON_DIRECTIVES["boundscheck"] is False
    debug = load_setup(monkeypatch, FASTCONV_DEBUG="1")
    assert debug.CYTHON_DIRECTIVES["boundscheck"] is True
    assert debug.CYTHON_DIRECTIVES["wraparound"] is True


def test_no_native_flags_unless_asked(monkeypatch):
    # CC=false has no OpenMP: allow the serial fallback whatever CI's setting.
    setup = load_setup(monkeypatch, CC="false", FASTCONV_NATIVE="0", FASTCONV_REQUIRE_OPENMP="0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compile_args, _, _ = setup.build_flags()
    assert "-march=native" not in compile_args
    setup = load_setup(monkeypatch, CC="false", FASTCONV_NATIVE="1", FASTCONV_REQUIRE_OPENMP="0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compile_args, _, _ = setup.build_flags()
    assert "-march=native" in compile_args


def test_build_info_reports_the_build():
    info = fastconv.get_config()["build"]
    assert info["openmp"] == OPENMP_ENABLED
    assert "-march=native" not in info["compile_args"] or info["native"]
