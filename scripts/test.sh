#!/usr/bin/env bash
# Sets everything up and runs kiln's whole test suite: unit and per-op tests, the CLI error
# contract, the reference-model goldens, the ONNX node conformance suite, and the ONNX Runtime
# live reference. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash tests/ort/setup.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 1200
