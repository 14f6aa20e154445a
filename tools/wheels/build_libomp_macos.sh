#!/usr/bin/env bash
# Build LLVM's OpenMP runtime (libomp) from source for the macOS wheels.
#
# The runtime is copied into every macOS wheel (delocate), so it must run
# wherever the wheel installs: it is built here for the wheel's deployment
# target (MACOSX_DEPLOYMENT_TARGET) and architecture, not taken from Homebrew
# (whose bottles target the build machine's macOS version). One prefix per
# architecture, /tmp/libomp-<arch>, which the [tool.cibuildwheel] overrides
# in pyproject.toml put in CFLAGS/LDFLAGS. Run by cibuildwheel's before-all on
# the macOS runners (x86_64 runner: x86_64; arm64 runner: arm64).
#
# Licence of the result: Apache-2.0 WITH LLVM-exception
# (licenses/Apache-2.0-WITH-LLVM-exception.txt, shipped in the wheel).
set -euo pipefail
LLVM_VERSION=${LLVM_VERSION:-19.1.7}
ARCH=${ARCH:-$(uname -m)}
case "$ARCH" in
    arm64) TARGET=${MACOSX_DEPLOYMENT_TARGET:-11.0} ;;
    x86_64) TARGET=${MACOSX_DEPLOYMENT_TARGET:-10.13} ;;
    *) echo "build_libomp_macos.sh: unknown architecture $ARCH" >&2; exit 1 ;;
esac
PREFIX=/tmp/libomp-$ARCH
SRC=$(mktemp -d)
base=https://github.com/llvm/llvm-project/releases/download/llvmorg-$LLVM_VERSION
for part in openmp cmake; do
    curl -fsSL "$base/$part-$LLVM_VERSION.src.tar.xz" | tar -xJ -C "$SRC"
    mv "$SRC/$part-$LLVM_VERSION.src" "$SRC/$part"
done
cmake -S "$SRC/openmp" -B "$SRC/build" -G "Unix Makefiles" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" \
    -DCMAKE_OSX_ARCHITECTURES="$ARCH" \
    -DCMAKE_OSX_DEPLOYMENT_TARGET="$TARGET" \
    -DLIBOMP_ENABLE_SHARED=ON \
    -DLIBOMP_INSTALL_ALIASES=OFF \
    -DOPENMP_ENABLE_LIBOMPTARGET=OFF \
    -DLIBOMP_OMPD_SUPPORT=OFF \
    -DOPENMP_ENABLE_OMPT_TOOLS=OFF \
    -DLIBOMP_USE_HWLOC=OFF
cmake --build "$SRC/build" --parallel "$(sysctl -n hw.ncpu)"
cmake --install "$SRC/build"
# The install name is @rpath-relative so that delocate can rewrite it.
install_name_tool -id @rpath/libomp.dylib "$PREFIX/lib/libomp.dylib"
otool -l "$PREFIX/lib/libomp.dylib" | grep -A4 -E "LC_BUILD_VERSION|LC_VERSION_MIN_MACOSX"
lipo -info "$PREFIX/lib/libomp.dylib"
echo "libomp $LLVM_VERSION for $ARCH, macOS >= $TARGET, in $PREFIX"
