#!/usr/bin/env bash
# Installs ONNX Runtime's CPU build for node (onnxruntime-node, pinned in package.json and
# package-lock.json) into tests/ort/node_modules. Idempotent: does nothing when the pinned
# version is already there and loads.
#
# --ignore-scripts: the package's postinstall would download CUDA/TensorRT providers from
# outside the npm registry; the CPU binding ships inside the package and needs none of it.
#
# Exit 0: installed (or already was). Exit 2: node, npm or the registry unavailable, or the
# installed binding does not load.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

fail() { echo "tests/ort/setup.sh: $*" >&2; exit 2; }

command -v node >/dev/null 2>&1 || fail "node not found on PATH (install nodejs)"

want="$(node -p "require('./package.json').dependencies['onnxruntime-node']")"

loads() {
  node -e "
    const o = require('./node_modules/onnxruntime-node');
    if (o.env.versions.node !== '$want') { process.exit(1); }
  " >/dev/null 2>&1
}

if loads; then
  echo "onnxruntime-node $want already installed in tests/ort/node_modules"
  exit 0
fi

command -v npm >/dev/null 2>&1 || fail "npm not found on PATH (install npm) - cannot install onnxruntime-node $want"

# Quiet, bounded network use: one retry, 60 s per request; no audit/fund/update checks.
npm_flags=(--ignore-scripts --no-audit --no-fund --no-update-notifier --loglevel=error
           --fetch-retries=1 --fetch-timeout=60000)
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if [[ -f package-lock.json ]]; then
  cmd=(npm ci "${npm_flags[@]}")
else
  cmd=(npm install "${npm_flags[@]}")
fi
if ! "${cmd[@]}" >"$log" 2>&1; then
  reason="$(grep -m1 -E 'npm (ERR!|error) (code|network|errno)|ENOTFOUND|ETIMEDOUT|ECONNREFUSED|EAI_AGAIN' "$log" || tail -n1 "$log")"
  fail "'${cmd[*]:0:2}' failed (npm registry unreachable?): ${reason}"
fi

loads || fail "onnxruntime-node $want installed but its CPU binding does not load with node $(node --version) on $(uname -sm)"
echo "installed onnxruntime-node $want into tests/ort/node_modules"
