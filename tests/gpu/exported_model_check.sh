#!/usr/bin/env bash
# An exported model (tools/export: DIR/model.onnx, DIR/inputs/*.npy, DIR/golden/*.npy) built
# and timed on the GPU machine against its PyTorch fp32 goldens, one engine per precision:
#   tests/gpu/exported_model_check.sh KILN DIR OUT_DIR PRECISION... [-- BUILD_ARGS...]
# Writes OUT_DIR/<precision>.bench.json (kiln bench) and OUT_DIR/<precision>.out/ (kiln run)
# and prints one line per precision: GPU time, and every output's rel L2 against its golden. BUILD_ARGS go to kiln build (--shape, --disable-pass, ...).
set -uo pipefail
KILN=$1 DIR=$2 OUT=$3
shift 3
PRECISIONS=()
while (($#)) && [ "$1" != "--" ]; do PRECISIONS+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
mkdir -p "$OUT"
inputs=()
for f in "$DIR"/inputs/*.npy; do inputs+=(--input "$(basename "$f" .npy)=$f"); done
for p in "${PRECISIONS[@]}"; do
  if ! "$KILN" build "$DIR/model.onnx" -o "$OUT/$p.kiln" --device cuda --"$p" "$@" >"$OUT/$p.build.log" 2>&1; then
    echo "$p: build failed: $(tail -n1 "$OUT/$p.build.log")"
    continue
  fi
  # Every output against its golden (kiln run on the engine), then the time (kiln bench).
  "$KILN" run "$OUT/$p.kiln" "${inputs[@]}" --device cuda -o "$OUT/$p.out" >"$OUT/$p.run.log" 2>&1 ||
    echo "$p: run exit $? ($(tail -n1 "$OUT/$p.run.log"))"
  "$KILN" bench "$OUT/$p.kiln" "${inputs[@]}" --iterations 100 --warmup 20 --json \
    >"$OUT/$p.bench.json" 2>"$OUT/$p.bench.err" || echo "$p: bench exit $? ($(tail -n1 "$OUT/$p.bench.err"))"
  python3 - "$DIR/golden" "$OUT/$p.out" "$OUT/$p.bench.json" "$p" <<'PY'
import json, os, sys
import numpy as np
gold, got, bench, p = sys.argv[1:5]
parts = []
for f in sorted(os.listdir(gold)):
    if not f.endswith(".npy") or not os.path.exists(os.path.join(got, f)):
        continue
    b = np.load(os.path.join(gold, f)).astype(np.float64)
    a = np.load(os.path.join(got, f)).astype(np.float64)
    rel = float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))
    part = f"{f[:-4]} rel L2 {rel:.3g}, finite {bool(np.isfinite(a).all())}"
    if b.ndim >= 2 and b.shape[-1] > 1:
        part += f", argmax(last axis) agreement {100 * float((a.argmax(-1) == b.argmax(-1)).mean()):.3f}%"
    parts.append(part)
try:
    row = json.load(open(bench))["rows"][0]
    t = f"GPU median {row['gpu_ms']['median']:.3f} ms (p90 {row['gpu_ms']['p90']:.3f})"
except Exception as e:
    t = f"no timing ({e})"
print(f"{p}: {t}; " + "; ".join(parts))
PY
  rm -f "$OUT/$p.kiln"
done
