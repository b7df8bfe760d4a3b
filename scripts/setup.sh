#!/usr/bin/env bash
# Installs kiln's system dependencies from Debian packages (idempotent, non-interactive)
# and builds Release into build/. Usage: scripts/setup.sh [--no-build | --kiln-only]
#   --kiln-only  builds only the kiln binary (what the demo needs), not the tests
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  build-essential cmake ninja-build ccache pkg-config
  libprotobuf-dev protobuf-compiler libonnx-dev libonnx-testdata
  libcli11-dev nlohmann-json3-dev libstb-dev libgtest-dev
  libopenblas-openmp-dev zlib1g-dev
  pybind11-dev python3-dev python3-numpy python3-pytest
  clang libclang-rt-dev
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# node + npm run the ONNX Runtime live reference (tests/ort); install only when absent.
if ! command -v npm >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

[ "${1:-}" = "--no-build" ] && exit 0
TARGETS=()
[ "${1:-}" = "--kiln-only" ] && TARGETS=(--target kiln)

CUDA_ARGS=()
if [ -x /usr/local/cuda/bin/nvcc ]; then CUDA_ARGS+=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc); fi
# The Python module is built for Debian's python3 (its numpy and pytest run tests/python), not
# whatever python3 comes first on PATH.
PY_ARGS=()
if [ -x /usr/bin/python3 ]; then PY_ARGS+=(-DPython3_EXECUTABLE=/usr/bin/python3); fi
# Relative paths in the cache key let every clone share ccache hits.
export CCACHE_BASEDIR="$PWD"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "${CUDA_ARGS[@]}" "${PY_ARGS[@]}" >/dev/null
cmake --build build -j"$(nproc)" "${TARGETS[@]}"
