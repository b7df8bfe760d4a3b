#!/usr/bin/env bash
# compute-sanitizer memcheck and racecheck over whole-model runs on the GPU machine (issue 8):
#   tests/gpu/sanitize_models.sh KILN RESULTS_MD MODEL_DIR...
# Each MODEL_DIR holds model.onnx and, optionally, inputs/*.npy (else random inputs). Every
# model runs as `kiln run --device cuda` once per precision (fp32; fp16 through an engine built
# with --fp16) under each tool. CUDA Graphs are turned off under the tools, so every kernel is
# launched (and checked) on its own. racecheck reports are split into kiln's kernels and library
# kernels (racecheck_log.sh says why); only a hazard in a kiln kernel is a finding.
# A table goes to RESULTS_MD; exits non-zero on any finding.
# Environment: SANITIZE_TIMEOUT (seconds per run, default 300), SANITIZE_TOOLS ("memcheck racecheck").
set -uo pipefail
KILN=$(realpath "$1")
MD=$2
shift 2
SAN=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
[ -n "$SAN" ] || { echo "sanitize_models.sh: compute-sanitizer not found" >&2; exit 2; }
source "$(dirname "$0")/racecheck_log.sh"
work=$(mktemp -d)
status=0
{
  echo "# compute-sanitizer over whole models, $(date -u +%Y-%m-%d), $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
  echo
  echo "| model | precision | tool | result | seconds |"
  echo "|---|---|---|---|---:|"
} >"$MD"
for dir in "$@"; do
  name=$(basename "$dir")
  args=()
  if ls "$dir"/inputs/*.npy >/dev/null 2>&1; then
    for f in "$dir"/inputs/*.npy; do args+=(-i "$(basename "$f" .npy)=$f"); done
  else
    for n in $("$KILN" inspect "$dir/model.onnx" --json | python3 -c 'import json,sys; print(" ".join(i["name"] for i in json.load(sys.stdin)["inputs"]))'); do
      args+=(-i "$n=random")
    done
    args+=(--seed 1)
  fi
  for precision in fp32 fp16; do
    model=$dir/model.onnx
    if [ $precision = fp16 ]; then
      model=$work/$name.fp16.kiln
      "$KILN" build "$dir/model.onnx" -o "$model" --fp16 --device cuda >"$work/build.log" 2>&1 ||
        { echo "| $name | fp16 | build | FAILED: $(tail -1 "$work/build.log") | |" >>"$MD"; status=1; continue; }
    fi
    for tool in ${SANITIZE_TOOLS:-memcheck racecheck}; do
      log=$work/$name.$precision.$tool.log
      SECONDS=0
      timeout "${SANITIZE_TIMEOUT:-300}" "$SAN" --tool "$tool" --error-exitcode 9 \
        "$KILN" run "$model" "${args[@]}" --device cuda --no-cuda-graph -o "$work/out" >"$log" 2>&1
      rc=$?
      summary=$(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$log" | tail -1 | sed 's/^========= //')
      read -r race_kiln race_lib race_names < <(race_split "$log")
      if grep -q "Target application returned an error" "$log"; then
        # Say whether kiln fails by itself or only under the tool.
        "$KILN" run "$model" "${args[@]}" --device cuda --no-cuda-graph -o "$work/plain" >"$work/plain.log" 2>&1
        plain_rc=$?
        result="kiln failed under $tool (exit $rc, its last line: $(grep -v '^=========' "$log" | tail -1)); without the tool it exits $plain_rc"
        status=1; cp "$log" "$(dirname "$MD")/"
      elif [ $rc = 124 ]; then
        result="timed out after ${SANITIZE_TIMEOUT:-300} s"; status=1
      elif [ "$tool" = racecheck ] && [ "$race_kiln" = 0 ] && { [ $rc = 0 ] || { [ $rc = 9 ] && [ "$race_lib" != 0 ]; }; }; then
        result="clean in kiln's kernels ($summary)"
        [ "$race_lib" = 0 ] || { result+="; all $race_lib reports inside library kernels: $race_names"; cp "$log" "$(dirname "$MD")/"; }
      elif [ $rc = 0 ]; then
        result="clean (${summary:-no summary})"
      elif [ $rc = 9 ]; then
        result="FINDINGS: $summary${race_kiln:+ ($race_kiln racecheck reports in kiln kernels)}"; status=1; cp "$log" "$(dirname "$MD")/"
      else
        result="kiln exited $rc: $(grep -v '^=========' "$log" | tail -1)"; status=1
      fi
      echo "| $name | $precision | $tool | $result | $SECONDS |" >>"$MD"
    done
  done
done
rm -rf "$work"
cat "$MD"
exit $status
