#!/usr/bin/env bash
# CPU reference backend: wall time of `kiln run` (whole process: import, folding, execution,
# writing outputs) per test model, median of N runs, next to ONNX Runtime (npm
# onnxruntime-node, CPU) on the same committed inputs with its relative L2 distance.
# Usage: bench/cpu_reference.sh [RUNS] > bench/results/DATE-cpu-reference.md
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-7}
KILN=build/kiln
bash tests/ort/setup.sh >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "# CPU reference backend — $(date -u +%Y-%m-%d)"
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg). kiln $($KILN --version | cut -d' ' -f2), commit $(git rev-parse --short HEAD)."
echo
echo "| model | kiln run, whole process (median of $RUNS) | kiln execute only | ORT create + run | rel L2 kiln vs ORT |"
echo "|---|---|---|---|---|"
for dir in tests/models/*/; do
  model="$dir/model.onnx"
  name=$(basename "$dir")
  args=()
  for f in "$dir"/inputs/*.npy; do args+=(--input "$(basename "$f" .npy)=$f"); done
  out=$(mktemp -d)
  walls=(); runs=()
  for _ in $(seq "$RUNS"); do
    t0=$(date +%s%N)
    line=$($KILN run "$model" "${args[@]}" --output "$out" | tail -1)
    t1=$(date +%s%N)
    walls+=("$(( (t1 - t0) / 1000000 ))")
    runs+=("$(sed -E 's/.*run ([0-9.]+) ms.*/\1/' <<<"$line")")
  done
  wall=$(printf '%s\n' "${walls[@]}" | median)
  run=$(printf '%s\n' "${runs[@]}" | median)
  # the committed inputs, as kiln ran them (a random bool mask would be all padding)
  ort=$(node tests/ort/live_reference.js --kiln "$KILN" --model "$model" "${args[@]}" 2>&1)
  rel=$(grep -oE 'rel_l2=[0-9.e+-]+' <<<"$ort" | cut -d= -f2 | paste -sd, -)
  ort_t=$(grep -oE 'ort wall: create [0-9.]+ s, run [0-9.]+ s' <<<"$ort" | sed -E 's/ort wall: create ([0-9.]+) s, run ([0-9.]+) s/\1 s + \2 s/')
  echo "| $name | ${wall} ms | ${run} ms | $ort_t | $rel |"
  rm -rf "$out"
done
echo
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)."
