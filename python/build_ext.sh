#!/usr/bin/env bash
# Builds the Python module `kiln` against a kiln built elsewhere, for a machine whose Python
# differs from the build machine's (the GPU machine: Python 3.12, pip's pybind11, nvcc and g++,
# none of Debian's -dev packages). Two steps:
#
#   python/build_ext.sh bundle [BUILD_DIR]
#       On the build machine, after `cmake --build BUILD_DIR --target kiln_core` (position-
#       independent, CMakeLists.txt), writes BUILD_DIR/python_ext/:
#         kiln_bundle.o      one relocatable object: all of kiln_core and onnx.proto plus the
#                            members of the static OpenBLAS, stb and zlib archives they use (ld -r)
#         kiln_bundle.flags  its compile definitions (KILN_VERSION, KILN_WITH_CUDA)
#         libprotobuf.so.32  Debian's shared protobuf: the static one uses local-exec thread-locals,
#                            which no shared object may hold (python/CMakeLists.txt does the same)
#       These files are all the other machine needs besides the repository.
#
#   python/build_ext.sh build BUNDLE_DIR OUT_DIR
#       On the target machine: compiles python/src/*.cpp with g++ against the repository's headers,
#       pybind11 (pip, or /usr/include) and this python3's headers, and links them with the bundle,
#       cudart (static), cuBLASLt and cuDNN from the CUDA toolkit, libgomp and the bundle's
#       libprotobuf. Writes the package to OUT_DIR/kiln (the extension, libprotobuf beside it, found
#       through the extension's $ORIGIN rpath, and python/kiln/*.py):
#       PYTHONPATH=OUT_DIR python3 -c "import kiln".
#       CUDA_HOME (default /usr/local/cuda) and CUDNN_LIB_DIR (default: the linker's search path
#       and CUDA_HOME's lib dirs) say where the libraries are.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "build_ext.sh: $*" >&2; exit 2; }

bundle() {
  local build="${1:-build}"
  [ -f "$build/libkiln_core.a" ] || die "$build/libkiln_core.a is missing: cmake --build $build --target kiln_core"
  [ -f "$build/CMakeCache.txt" ] || die "$build/CMakeCache.txt is missing: configure $build with cmake first"
  cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
  local protobuf openblas stb zlib out="$build/python_ext"
  protobuf=$(cache Protobuf_LIBRARY_RELEASE)
  openblas=$(cache OPENBLAS_LIB)
  stb=$(cache STB_LIB)
  zlib=$(cache ZLIB_STATIC_ARCHIVE)
  for lib in "$openblas" "$stb"; do
    [[ "$lib" == *.a ]] || die "kiln_core links $lib, not a static archive: the bundle needs static libraries"
  done
  local protobuf_so
  protobuf_so=$(readlink -f "${protobuf%.a}.so") || die "no shared libprotobuf beside $protobuf (libprotobuf-dev)"
  mkdir -p "$out"
  # Every kiln object (the op registry references them all), then whatever they need of the rest;
  # protobuf's symbols stay undefined here and come from the shared library.
  ld -r -o "$out/kiln_bundle.o" --whole-archive "$build/libkiln_core.a" "$build/libkiln_onnx_proto.a" \
    --no-whole-archive --start-group "$openblas" "$stb" ${zlib:+"$zlib"} --end-group
  cp "$protobuf_so" "$out/$(objdump -p "$protobuf_so" | sed -n 's/^ *SONAME *//p')"
  local flags="-DKILN_VERSION=\"$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")\""
  # (grep -c reads everything: with -q, nm could die of SIGPIPE and pipefail turn it into "no")
  if [ "$(nm -C "$out/kiln_bundle.o" | grep -c " T kiln::CallerStreamRun::run")" != 0 ]; then flags+=" -DKILN_WITH_CUDA=1"; fi
  echo "$flags" > "$out/kiln_bundle.flags"
  ls -l "$out"
}

build() {
  local bundle_dir="${1:?usage: build_ext.sh build BUNDLE_DIR OUT_DIR}" out="${2:?usage: build_ext.sh build BUNDLE_DIR OUT_DIR}"
  [ -f "$bundle_dir/kiln_bundle.o" ] && [ -f "$bundle_dir/kiln_bundle.flags" ] ||
    die "$bundle_dir has no kiln_bundle.o and kiln_bundle.flags (make them with: build_ext.sh bundle)"
  local py="${PYTHON:-python3}" flags pyinc pybind suffix
  flags=$(cat "$bundle_dir/kiln_bundle.flags")
  pyinc=$("$py" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
  [ -f "$pyinc/Python.h" ] || die "no Python.h in $pyinc: this python3 has no development headers"
  pybind=$("$py" -c "import pybind11; print(pybind11.get_include())" 2>/dev/null || echo /usr/include)
  [ -f "$pybind/pybind11/pybind11.h" ] || die "pybind11 not found (pip install pybind11)"
  suffix=$("$py" -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
  local libs=()  # tmp is global: the EXIT trap reads it after build() returned
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  local cxxflags=(-std=c++20 -O2 -fPIC -fvisibility=hidden -fopenmp -DNDEBUG -Iinclude -Isrc -Ipython/src
                  -isystem "$pyinc")
  # /usr/include is searched anyway; naming it with -isystem would break libstdc++'s include_next.
  [ "$pybind" = /usr/include ] || cxxflags+=(-isystem "$pybind")
  # shellcheck disable=SC2206
  cxxflags+=($flags)
  local pids=() objs=()
  for src in python/src/*.cpp; do
    obj="$tmp/$(basename "$src" .cpp).o"
    objs+=("$obj")
    g++ "${cxxflags[@]}" -c "$src" -o "$obj" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || die "compiling the binding failed"; done
  if [[ "$flags" == *KILN_WITH_CUDA* ]]; then
    local cuda="${CUDA_HOME:-/usr/local/cuda}" dirs=()
    for d in "${CUDNN_LIB_DIR:-}" "$cuda/lib64" "$cuda/lib" "$cuda/targets/x86_64-linux/lib"; do
      [ -n "$d" ] && [ -d "$d" ] && dirs+=("$d")
    done
    for d in "${dirs[@]}"; do libs+=(-L"$d" -Wl,-rpath,"$d"); done
    libs+=(-lcudart_static -lcublasLt -lcudnn -lrt)
  fi
  # Only the module's entry point is exported: kiln's protobuf, OpenBLAS and zlib stay private
  # (no clash with the copies torch or onnx load into the same process).
  echo "{ global: PyInit__kiln; local: *; };" > "$tmp/exports.map"
  mkdir -p "$out/kiln"
  rm -f "$out/kiln/_kiln$suffix"
  local protobuf_so
  protobuf_so=$(ls "$bundle_dir"/libprotobuf.so.* | head -1)
  cp "$protobuf_so" "$out/kiln/"
  g++ -shared -fopenmp -o "$out/kiln/_kiln$suffix" "${objs[@]}" "$bundle_dir/kiln_bundle.o" "$out/kiln/$(basename "$protobuf_so")" \
    "${libs[@]}" -lpthread -ldl -Wl,-rpath,'$ORIGIN' -Wl,--version-script="$tmp/exports.map" ||
    die "linking _kiln$suffix failed"
  cp python/kiln/*.py "$out/kiln/"
  echo "built $out/kiln/_kiln$suffix"
}

case "${1:-}" in
  bundle) shift; bundle "$@" ;;
  build) shift; build "$@" ;;
  *) die "usage: build_ext.sh bundle [BUILD_DIR] | build BUNDLE_DIR OUT_DIR" ;;
esac
