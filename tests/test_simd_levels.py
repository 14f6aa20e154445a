"""Every SIMD level is compiled where it should be and runs where it can.

The kernels are compiled once per level (``fastconv/_kernels/isa.h``) and one
is chosen at run time. These tests check

* that the level chosen is the best this CPU has (``/proc/cpuinfo``; or the
  level named by ``FASTCONV_EXPECT_ISA``, which CI sets when it runs the
  suite under ``qemu-x86_64 -cpu Nehalem`` / ``-cpu Haswell`` or in the
  emulated-AVX-512 build);
* in the machine code of the extensions (``objdump``), that AVX-512
  registers appear only in functions compiled for AVX-512, AVX registers only
  in functions compiled for AVX2 or AVX-512 (the baseline code must run on a
  CPU without AVX), and that the kernel families are instantiated at every
  level;
* in the kernel sources, that no source names a target itself (the levels are
  ``isa.h``'s macros, which is what makes the emulated-AVX-512 build cover
  every kernel);
* that every operation family (GEMM, direct, depthwise, Winograd, image
  filter, weight gradient, fused separable) matches the reference at every
  level this machine runs (test_isa.py has the direct/im2col grid).
"""
import os
import platform
import re
import shutil
import subprocess

import numpy as np
import pytest
from conftest import assert_conv_close, n_terms_of

import fastconv
from fastconv import reference
from fastconv._kernels import _gemm

KERNELS = os.path.dirname(os.path.abspath(_gemm.__file__))
LEVELS = _gemm.isa_levels()
BUILD = fastconv.get_config()["build"]
EMULATED = _gemm.isa_emulated()


def _cpu_flags():
    """The CPU feature flags the Linux kernel reports (x86-64 only), or None."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


def expected_level():
    """The level the kernels should pick on this CPU, or None if unknown."""
    forced = os.environ.get("FASTCONV_EXPECT_ISA")
    if forced:
        return forced
    flags = _cpu_flags()
    if flags is None:
        return None
    if not {"avx2", "fma"} <= flags:
        return "generic"
    if EMULATED == "avx512" or {"avx512f", "avx512dq"} <= flags:
        return "avx512"
    return "avx2"


def test_the_best_level_of_this_cpu_is_chosen():
    levels = _gemm.isa_levels()
    assert levels[0] == "generic" and _gemm.isa_get() in levels
    expected = expected_level()
    if expected is None:
        pytest.skip("no x86 /proc/cpuinfo and no FASTCONV_EXPECT_ISA")
    assert levels == _gemm.ISA_LEVELS[: _gemm.ISA_LEVELS.index(expected) + 1]
    assert _gemm.isa_supported() == expected, (
        f"CPU flags say {expected!r}, fastconv runs {_gemm.isa_supported()!r} "
        f"(emulated: {EMULATED})")
    if "FASTCONV_ISA" not in os.environ:
        assert _gemm.isa_get() == expected


def test_config_reports_levels_in_use_and_compiled():
    cfg = fastconv.get_config()
    assert cfg["isa"] == _gemm.isa_get()
    assert cfg["isa_compiled"] == list(_gemm.isa_compiled())
    assert cfg["isa_emulated"] == EMULATED
    assert cfg["isa_compiled"][0] == "generic"
    assert set(LEVELS) <= set(cfg["isa_compiled"])


def test_emulated_build_runs_the_avx512_level_on_avx2():
    if not BUILD.get("emulate_avx512"):
        pytest.skip("not an emulated-AVX-512 build (FASTCONV_EMULATE_AVX512=1)")
    assert EMULATED == "avx512"
    flags = _cpu_flags() or set()
    if {"avx2", "fma"} <= flags and "FASTCONV_EXPECT_ISA" not in os.environ:
        assert _gemm.isa_supported() == "avx512"
        assert _gemm.register_tile(np.float32) == (8, 32)


# --------------------------------------------------------------------------
# Sources: the levels come from isa.h only.
# --------------------------------------------------------------------------
SOURCES = [f for f in sorted(os.listdir(KERNELS))
           if f.endswith((".c", ".h")) and f != "isa.h" and not f.startswith("_")]
TARGET_RE = re.compile(r"pragma\s+GCC\s+target|target\s*\(\s*\"|pragma\s+clang\s+attribute")


def test_kernel_sources_take_their_targets_from_isa_h():
    if not any(f.endswith(".c") for f in SOURCES):
        pytest.skip("the C sources are not installed here (a wheel)")
    offenders = []
    for name in SOURCES:
        with open(os.path.join(KERNELS, name)) as f:
            for lineno, line in enumerate(f, 1):
                if TARGET_RE.search(line):
                    offenders.append(f"{name}:{lineno}: {line.strip()}")
    assert not offenders, (
        "a kernel source names an instruction-set target itself; instantiate each level "
        "between isa.h's FC_LEVEL_BEGIN_<LEVEL> and FC_LEVEL_END (or mark functions "
        "FC_<LEVEL>_ATTR) with FC_VBYTES = FC_<LEVEL>_VBYTES, so that the "
        "emulated-AVX-512 test build covers the kernel:\n" + "\n".join(offenders))


# --------------------------------------------------------------------------
# Machine code: objdump of every extension module.
# --------------------------------------------------------------------------
EXTENSIONS = sorted(os.path.join(KERNELS, f) for f in os.listdir(KERNELS)
                    if f.endswith((".so", ".pyd")))
FUNC_RE = re.compile(r"^[0-9a-f]+ <(.+)>:$")


def _registers_by_function(path):
    """{function: set of 'zmm'/'ymm'} for the functions of ``path`` that use them."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], check=True,
                         capture_output=True, text=True).stdout
    used = {}
    fn = None
    for line in out.splitlines():
        m = FUNC_RE.match(line)
        if m:
            fn = m.group(1)
            continue
        if fn is None or "\t" not in line:
            continue
        for reg in ("zmm", "ymm"):
            if "%" + reg in line:
                used.setdefault(fn, set()).add(reg)
    return used


def _symbols(path):
    out = subprocess.run(["objdump", "-t", path], check=True, capture_output=True,
                         text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if " F " in line}


needs_objdump = pytest.mark.skipif(
    shutil.which("objdump") is None or not EXTENSIONS or platform.machine().lower() not in ("x86_64", "amd64"),
    reason="needs objdump and the x86-64 extension modules")


@needs_objdump
@pytest.mark.parametrize("path", EXTENSIONS, ids=os.path.basename)
def test_wide_registers_only_in_functions_of_their_level(path):
    if BUILD.get("native"):
        pytest.skip("FASTCONV_NATIVE=1 compiles everything for this CPU")
    used = _registers_by_function(path)
    zmm_outside = sorted(fn for fn, regs in used.items() if "zmm" in regs and "avx512" not in fn)
    assert not zmm_outside, (
        f"{os.path.basename(path)}: AVX-512 registers in functions not compiled for "
        f"AVX-512 (they would crash on CPUs without it): {zmm_outside}")
    ymm_outside = sorted(fn for fn, regs in used.items()
                         if "avx2" not in fn and "avx512" not in fn)
    assert not ymm_outside, (
        f"{os.path.basename(path)}: AVX registers in baseline functions (they would "
        f"crash on CPUs without AVX): {ymm_outside}")
    if EMULATED == "avx512":
        zmm_any = sorted(fn for fn, regs in used.items() if "zmm" in regs)
        assert not zmm_any, f"an emulated-AVX-512 build must not use zmm: {zmm_any}"


# The per-level entry points of the kernel families (static helpers may be
# inlined at one level and not at another, so only these are looked for).
FAMILIES = ("fc_gemm", "fc_pack_a", "fc_pack_b", "fc_direct_item", "fc_depthwise_item",
            "fc_wino_input", "fc_wino_output", "fc_filter_item")


@needs_objdump
def test_kernel_families_are_compiled_at_both_wide_levels():
    """(The generic instances may be inlined into their dispatchers; a function
    of a wider target cannot be inlined into baseline code, so these remain.)"""
    found = {}
    for path in EXTENSIONS:
        for sym in _symbols(path):
            m = re.match(r"^(\w+?)_(avx2|avx512)(_f32|_f64)(\..*)?$", sym)
            if m and m.group(1) in FAMILIES:
                found.setdefault(m.group(1) + m.group(3), set()).add(m.group(2))
    missing = {f + t: sorted({"avx2", "avx512"} - found.get(f + t, set()))
               for f in FAMILIES for t in ("_f32", "_f64")
               if found.get(f + t) != {"avx2", "avx512"}}
    assert not missing, f"kernel families missing a level: {missing}"


@needs_objdump
def test_avx512_functions_use_512_bit_vectors_unless_emulated():
    used = {}
    for path in EXTENSIONS:
        for fn, regs in _registers_by_function(path).items():
            used[fn] = used.get(fn, set()) | regs
    gemm = [fn for fn in used if fn.startswith("fc_gemm_avx512_f32")]
    assert gemm, "the AVX-512 GEMM uses no wide register at all"
    if EMULATED == "avx512":
        assert all(used[fn] == {"ymm"} for fn in gemm), {fn: used[fn] for fn in gemm}
    else:
        assert any("zmm" in used[fn] for fn in gemm)


# --------------------------------------------------------------------------
# Every operation family at every level this machine runs.
# --------------------------------------------------------------------------
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_winograd_at_every_level(level, dtype, level_guard):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 19, 29, 37)).astype(dtype)
    w = rng.standard_normal((35, 19, 3, 3)).astype(dtype)
    b = rng.standard_normal(35).astype(dtype)
    _gemm.isa_set(level)
    y = fastconv.conv2d(x, w, b, padding=1, algorithm="winograd")
    assert_conv_close(y, reference.conv2d(x, w, b, padding=1), dtype, n_terms_of(w, b),
                      err_msg=f"level={level}")


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kernel", [((101, 127), (5, 3)), ((1, 97), (1, 11)),
                                          ((33, 70), (7, 7))])
def test_image_filter_at_every_level(level, dtype, shape, kernel, level_guard):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape).astype(dtype)
    k = rng.standard_normal(kernel).astype(dtype)
    _gemm.isa_set(level)
    for boundary in ("fill", "symmetric"):
        y = fastconv.correlate(x, k, mode="same", boundary=boundary, algorithm="direct")
        ref = reference.correlate(x, k, mode="same", boundary=boundary)
        assert_conv_close(y, ref, dtype, k.size, err_msg=f"level={level}, {boundary}")


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_gradient_at_every_level(level, dtype, level_guard):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 6, 23, 29)).astype(dtype)
    wshape = (10, 3, 3, 5)
    kwargs = dict(stride=(1, 2), padding=(1, 2), groups=2)
    gy_shape = fastconv.conv_output_shape(x.shape, wshape, stride=kwargs["stride"],
                                          padding=kwargs["padding"])
    gy = rng.standard_normal(gy_shape).astype(dtype)
    _gemm.isa_set(level)
    gw = fastconv.grad.conv2d_weight(x, wshape, gy, **kwargs)
    ref = reference.grad.conv2d_weight(x, wshape, gy, **kwargs)
    n_terms = int(np.prod(gy_shape)) // gy_shape[1]
    assert_conv_close(gw, ref, dtype, n_terms, err_msg=f"level={level}")


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_depthwise_and_fused_separable_at_every_level(level, dtype, level_guard):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 12, 31, 45)).astype(dtype)
    dw = rng.standard_normal((12, 1, 3, 3)).astype(dtype)
    pw = rng.standard_normal((17, 12, 1, 1)).astype(dtype)
    _gemm.isa_set(level)
    y = fastconv.depthwise_conv2d(x, dw, padding=1)
    assert_conv_close(y, reference.conv2d(x, dw, padding=1, groups=12), dtype, 9,
                      err_msg=f"level={level}")
    z = fastconv.separable_conv2d(x, dw, pw, padding=1)
    ref = reference.conv2d(reference.conv2d(x, dw, padding=1, groups=12), pw)
    assert_conv_close(z, ref, dtype, 9 * 12, err_msg=f"level={level}")


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_tiles_and_tails_at_every_level(level, dtype, level_guard):
    rng = np.random.default_rng(11)
    _gemm.isa_set(level)
    mr, nr = _gemm.register_tile(dtype)
    for m, n, k in [(mr * 3 + 1, nr * 2 + 3, 37), (mr - 1, nr + 1, 1), (97, 101, 127)]:
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        c = _gemm.matmul(a, b)
        assert_conv_close(c, a.astype(np.float64) @ b.astype(np.float64), dtype, k,
                          err_msg=f"level={level}, {m}x{n}x{k}")
