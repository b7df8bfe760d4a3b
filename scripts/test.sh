#!/usr/bin/env bash
# Sets everything up and runs kiln's whole test suite: unit and per-op tests, the CLI error
# contract, the reference-model goldens, the ONNX node conformance suite, the ONNX Runtime
# live reference, and the Python module's tests (tests/python/run.sh); then all of it again under ASan + UBSan; then every libFuzzer target for 60 s
# (tools/fuzz/run.sh, fixed seed: the same mutations each run). This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash tests/ort/setup.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 1200
bash tests/python/run.sh build

# The same suite again under AddressSanitizer + UndefinedBehaviorSanitizer (host code; the CUDA
# backend is left out here and checked with compute-sanitizer on the GPU machine). A UBSan
# finding aborts the test that hit it.
export CCACHE_BASEDIR="$PWD"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKILN_SANITIZE=ON -DKILN_CUDA=OFF \
  -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build build-asan -j"$(nproc)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$(nproc)" --timeout 1800

# Each fuzz target 60 s from the test-derived seeds (docs/RELIABILITY.md); a finding fails the run
# and leaves its reproducer in build-fuzz/findings/.
KILN="$PWD/build/kiln" tools/fuzz/run.sh all 60
