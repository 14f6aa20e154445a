#!/usr/bin/env python3
"""Check repaired fastconv wheels: the OpenMP runtime and its licence are inside.

Usage: ``python tools/wheels/check_wheel.py WHEEL_OR_DIR...`` (a directory:
every ``fastconv-*.whl`` in it). Used by ``tools/build_wheels.py`` and by the
release pipeline after each repair (``[tool.cibuildwheel]`` in pyproject.toml).
Exit status 1 with the problems listed when a wheel fails.

Per platform tag, the wheel must contain
  * the OpenMP runtime the kernels link: ``fastconv.libs/libgomp*.so*``
    (manylinux, musllinux: auditwheel), ``fastconv/.dylibs/libomp.dylib``
    (macOS: delocate), ``vcomp140*.dll`` (Windows: delvewheel);
  * that runtime's licence texts under ``*.dist-info/licenses/licenses/``
    (licenses/BUNDLED.txt says which applies to which wheel);
  * no C or Cython sources, no build-time switch left on (``_build_info``
    must say openmp=True and no emulation, native or debug build).
"""
import ast
import glob
import os
import re
import sys
import zipfile

RUNTIME = [
    (r"(many|musl)linux", r"^fastconv\.libs/libgomp[-.][^/]*\.so[.0-9]*$",
     ["GPL-3.0.txt", "GCC-exception-3.1.txt"]),
    (r"macosx", r"^fastconv/\.dylibs/libomp\.dylib$", ["Apache-2.0-WITH-LLVM-exception.txt"]),
    (r"win", r"(^|/)vcomp140[^/]*\.dll$", []),
]


def problems(path):
    """The list of what is wrong with the wheel at ``path`` (empty: fine)."""
    name = os.path.basename(path)
    m = re.match(r"fastconv-([^-]+)-[^-]+-[^-]+-(.+)\.whl$", name)
    if not m:
        return [f"{name}: not a fastconv wheel file name"]
    version, plat = m.groups()
    found = []
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        info_name = "fastconv/_build_info.py"
        build = {}
        if info_name in names:
            tree = ast.parse(zf.read(info_name).decode())
            for node in tree.body:
                if isinstance(node, ast.Assign) and node.targets[0].id == "BUILD_INFO":
                    build = ast.literal_eval(node.value)
    dist_info = f"fastconv-{version}.dist-info/"
    if dist_info + "METADATA" not in names:
        found.append(f"no {dist_info}METADATA")
    for pattern, runtime, licences in RUNTIME:
        if re.search(pattern, plat):
            if not any(re.search(runtime, n) for n in names):
                found.append(f"no bundled OpenMP runtime matching {runtime!r}")
            for lic in ["BUNDLED.txt", *licences]:
                if dist_info + "licenses/licenses/" + lic not in names:
                    found.append(f"no {dist_info}licenses/licenses/{lic}")
            break
    else:
        found.append(f"unknown platform tag {plat!r}")
    # Typing: the marker and a stub beside every public module (what
    # tests/test_typing.py checks against the runtime in the source tree).
    if "fastconv/py.typed" not in names:
        found.append("no fastconv/py.typed")
    for n in names:
        parts = n.split("/")
        public = (parts[0] == "fastconv" and n.endswith(".py")
                  and not any(p.startswith("_") for p in parts[1:-1])
                  and (parts[-1] == "__init__.py" or not parts[-1].startswith("_")))
        if public and n[:-3] + ".pyi" not in names:
            found.append(f"no type stub {n[:-3]}.pyi")
    if any(n.endswith((".c", ".pyx")) for n in names):
        found.append("C or Cython sources inside the wheel")
    if not build:
        found.append("no fastconv/_build_info.py")
    else:
        if not build.get("openmp"):
            found.append("built without OpenMP")
        for switch in ("emulate_avx512", "native", "debug"):
            if build.get(switch):
                found.append(f"built with the local switch {switch}")
    return [f"{name}: {p}" for p in found]


def main(argv):
    wheels = []
    for arg in argv:
        wheels += sorted(glob.glob(os.path.join(arg, "fastconv-*.whl"))) if os.path.isdir(arg) \
            else [arg]
    if not wheels:
        print("check_wheel: no wheel given or found", file=sys.stderr)
        return 1
    bad = [p for w in wheels for p in problems(w)]
    for w in wheels:
        print(f"check_wheel: {os.path.basename(w)}: {'FAILED' if any(p.startswith(os.path.basename(w)) for p in bad) else 'ok'}")
    for p in bad:
        print(f"  {p}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
