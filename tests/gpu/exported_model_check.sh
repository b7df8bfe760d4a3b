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
  python3 "$(dirname "$0")/compare_outputs.py" "$DIR/golden" "$OUT/$p.out" "$OUT/$p.bench.json" "$p"
  rm -f "$OUT/$p.kiln"
done
