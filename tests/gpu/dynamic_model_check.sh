#!/usr/bin/env bash
# A dynamic-shape export (tools/export ... --dynamic --also HxW) checked with ONE engine per
# precision across its sizes: built once with BUILD_ARGS (--min/--opt/--max), then run and timed
# at the export's own size (DIR) and at every DIR/also/*/ (inputs/ and golden/ of that size):
#   tests/gpu/dynamic_model_check.sh KILN DIR OUT_DIR PRECISION... -- BUILD_ARGS...
# Prints one line per precision and size (tests/gpu/compare_outputs.py): GPU time, and every
# output's rel L2 against its golden; each run's outputs stay in OUT_DIR/<precision>_<size>.out/.
set -uo pipefail
KILN=$1 DIR=$2 OUT=$3
shift 3
PRECISIONS=()
while (($#)) && [ "$1" != "--" ]; do PRECISIONS+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
mkdir -p "$OUT"
here=$(dirname "$0")
for p in "${PRECISIONS[@]}"; do
  if ! "$KILN" build "$DIR/model.onnx" -o "$OUT/$p.kiln" --device cuda --"$p" "$@" >"$OUT/$p.build.log" 2>&1; then
    echo "$p: build failed: $(tail -n1 "$OUT/$p.build.log")"
    continue
  fi
  for d in "$DIR" "$DIR"/also/*/; do
    d=${d%/}
    size=$([ "$d" = "$DIR" ] && echo export || basename "$d")
    inputs=()
    for f in "$d"/inputs/*.npy; do inputs+=(--input "$(basename "$f" .npy)=$f"); done
    o=$OUT/${p}_$size
    "$KILN" run "$OUT/$p.kiln" "${inputs[@]}" --device cuda -o "$o.out" >"$o.run.log" 2>&1 ||
      echo "$p $size: run exit $? ($(tail -n1 "$o.run.log"))"
    "$KILN" bench "$OUT/$p.kiln" "${inputs[@]}" --iterations 50 --warmup 10 --json \
      >"$o.bench.json" 2>"$o.bench.err" || echo "$p $size: bench exit $? ($(tail -n1 "$o.bench.err"))"
    python3 "$here/compare_outputs.py" "$d/golden" "$o.out" "$o.bench.json" "$p $size"
  done
  rm -f "$OUT/$p.kiln"
done
