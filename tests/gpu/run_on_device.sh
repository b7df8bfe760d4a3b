#!/usr/bin/env bash
# Runs every GPU check on the GPU machine and writes a log plus a summary table:
#   tests/gpu/run_on_device.sh BIN_DIR RESULTS_DIR [TESTS_DIR]
# BIN_DIR holds kiln and kiln_gpu_tests (built elsewhere with the CUDA backend); TESTS_DIR is
# the repository's tests/ (default: beside this script). Writes RESULTS_DIR/<date>-<gpu>.log and
# RESULTS_DIR/<date>-<gpu>.md, prints the table last, and exits non-zero if anything failed.
# Environment: SECTIONS (default "tests models memcheck memcheck_models racecheck reliability": the parts to run,
# so one device call can take a share), MEMCHECK_TIMEOUT / RACECHECK_TIMEOUT (seconds, 150),
# RELIABILITY_FILTER (gtest filter of the slow reliability tests, default all of them).
set -uo pipefail
BIN=$(cd "$1" && pwd)
RES=$2
TESTS=${3:-$(cd "$(dirname "$0")/.." && pwd)}
mkdir -p "$RES"
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
SLUG=$(echo "${GPU:-nogpu}" | tr -c 'A-Za-z0-9\n' '-' | sed 's/-\+/-/g; s/-$//')
STAMP=$(date -u +%Y-%m-%d)
LOG="$RES/$STAMP-$SLUG.log"
MD="$RES/$STAMP-$SLUG.md"
export KILN_TEST_DIR="$TESTS"
: >"$LOG"
status=0

section() { echo "=== $* ===" | tee -a "$LOG"; }
SECTIONS=" ${SECTIONS:-tests models memcheck memcheck_models racecheck reliability} "
want() { [[ $SECTIONS == *" $1 "* ]]; }
source "$(dirname "$0")/racecheck_log.sh"
not_run="not run (not in SECTIONS)"

section "machine"
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; } >>"$LOG" 2>&1

tests_rc="not run"
t_tests=0
if want tests; then
  section "kiln_gpu_tests"
  SECONDS=0
  "$BIN/kiln_gpu_tests" --gtest_color=no >>"$LOG" 2>&1
  tests_rc=$?
  t_tests=$SECONDS
  [ $tests_rc -eq 0 ] || status=1
fi

run_rows=""
want models && section "kiln run --device cuda vs --device cpu (every model)"
for dir in "$TESTS"/models/*/; do
  want models || break
  m=$(basename "$dir")
  args=()
  for f in "$dir"inputs/*.npy; do args+=(-i "$(basename "$f" .npy)=$f"); done
  out=$(mktemp -d)
  "$BIN/kiln" run "$dir/model.onnx" "${args[@]}" --device cuda -o "$out/cuda" >>"$LOG" 2>&1
  rc=$?
  line=$(tail -1 "$LOG")
  if [ $rc -eq 0 ]; then
    cmp=$(python3 - "$out/cuda" "$dir/golden" 2>&1 <<'PY'
import sys, os, numpy as np
got, gold = sys.argv[1], sys.argv[2]
worst = 0.0
for f in sorted(os.listdir(gold)):
    a = np.load(os.path.join(got, f)).astype(np.float64); b = np.load(os.path.join(gold, f)).astype(np.float64)
    worst = max(worst, float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)))
print(f"{worst:.3g}")
PY
)
    run_rows+="| $m | ok | rel L2 vs golden $cmp | ${line#*prepare } |"$'\n'
  else
    run_rows+="| $m | exit $rc | ${line#kiln: } | |"$'\n'
    [ $rc -eq 2 ] || status=1  # exit 2 (an op without a CUDA kernel) is reported, not a failure
  fi
  rm -rf "$out"
done

SAN=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
no_san="not run (compute-sanitizer not found)"
memcheck=$not_run
racecheck=$not_run
want memcheck && memcheck=$no_san
want racecheck && racecheck=$no_san
memcheck_models=$not_run
want memcheck_models && memcheck_models=$no_san
if [ -n "$SAN" ] && want memcheck; then
  section "compute-sanitizer memcheck (op tests)"
  # The 8-thread x 1,000-inference soak runs the same kernels as the 8-thread model tests, 8,000
  # times over: under memcheck it alone outlasts any timeout, and adds no coverage.
  timeout "${MEMCHECK_TIMEOUT:-150}" "$SAN" --tool memcheck --error-exitcode 9 "$BIN/kiln_gpu_tests" \
    --gtest_color=no --gtest_filter='Gpu*:-*Model*:GpuRuntime.EightContextsThousandInferencesEach' >>"$LOG" 2>&1
  mrc=$?
  memcheck=$(case $mrc in 0) echo clean ;; 124) echo "timed out" ;; 9) echo "FAILED: memcheck errors" ;;
    *) echo "no memcheck errors; tests exited $mrc" ;; esac)
  [ $mrc -eq 0 ] || status=1
fi
if [ -n "$SAN" ] && want memcheck_models; then
  section "compute-sanitizer memcheck (reference models)"
  timeout "${MEMCHECK_TIMEOUT:-150}" "$SAN" --tool memcheck --error-exitcode 9 "$BIN/kiln_gpu_tests" \
    --gtest_color=no --gtest_filter='*Model*' >>"$LOG" 2>&1
  mrc=$?
  # exit 9: memcheck found errors; exit 1: a test failed under memcheck (reported above).
  memcheck_models=$(case $mrc in 0) echo clean ;; 124) echo "timed out (not a failure)" ;;
    9) echo "FAILED: memcheck errors" ;; *) echo "no memcheck errors; tests exited $mrc" ;; esac)
  [ $mrc -eq 0 ] || [ $mrc -eq 124 ] || status=1
fi
if [ -n "$SAN" ] && want racecheck; then
  # racecheck: shared-memory hazards inside kiln's kernels (flash attention, reductions, tiled
  # convs). Reports inside library kernels are counted apart (racecheck_log.sh).
  section "compute-sanitizer racecheck (op tests)"
  race_log=$(mktemp)
  timeout "${RACECHECK_TIMEOUT:-${MEMCHECK_TIMEOUT:-150}}" "$SAN" --tool racecheck --error-exitcode 9 \
    "$BIN/kiln_gpu_tests" --gtest_color=no \
    --gtest_filter='Gpu*:-*Model*:GpuRuntime.EightContextsThousandInferencesEach' >"$race_log" 2>&1
  mrc=$?
  cat "$race_log" >>"$LOG"
  read -r race_kiln race_lib race_names < <(race_split "$race_log")
  rm -f "$race_log"
  racecheck=$(case $mrc in 124) echo "timed out" ;; 0 | 9)
      if [ "$race_kiln" != 0 ]; then echo "FAILED: $race_kiln racecheck reports in kiln kernels"
      elif [ $mrc = 9 ] && [ "$race_lib" = 0 ]; then echo "FAILED: racecheck errors (see log)"
      elif [ "$race_lib" = 0 ]; then echo "clean"
      else echo "clean in kiln's kernels; $race_lib reports inside library kernels: $race_names"; fi ;;
    *) echo "tests exited $mrc under racecheck" ;; esac)
  [[ $racecheck == clean* ]] || status=1
fi

# The slow reliability tests: out-of-memory (223 s on the H200, its 1 TiB requests refused) and the
# soak, 100,000 inferences with host and device memory measured before and after.
reliability=$not_run
if want reliability; then
  section "reliability (${RELIABILITY_FILTER:-GpuReliability.DISABLED_*}: out of memory, soak)"
  SECONDS=0
  "$BIN/kiln_gpu_tests" --gtest_color=no --gtest_also_run_disabled_tests \
    --gtest_filter="${RELIABILITY_FILTER:-GpuReliability.DISABLED_*}" >>"$LOG" 2>&1
  src=$?
  reliability="$(grep '^soak:' "$LOG" | tail -1 | sed 's/^soak: //') (${SECONDS} s, exit $src)"
  [ $src -eq 0 ] || status=1
fi

passed=$(grep -c '^\[       OK \]' "$LOG")
failed=$(grep '^\[  FAILED  \]' "$LOG" | grep -v -e 'listed below' -e ' ms)$' | sort -u | grep -c .)
skipped=$(grep -c '^\[  SKIPPED \]' "$LOG")
{
  echo "# GPU tests, $STAMP, ${GPU:-no GPU}"
  echo
  echo "kiln_gpu_tests: exit $tests_rc in ${t_tests}s; test cases passed $passed, failed $failed, skipped $skipped"
  echo "(counts include the memcheck reruns when they ran)"
  echo
  echo "| check | result |"
  echo "|---|---|"
  grep -E '^\[  (FAILED|SKIPPED) \]' "$LOG" | grep -v -e 'listed below' -e ' ms)$' | sort -u | sed 's/^\[ *\([A-Z]*\) *\] \(.*\)/| \2 | \1 |/'
  grep -E '^model ' "$LOG" | sed 's/^model \([^:]*\): \(.*\)/| model \1 | \2 |/'
  grep -E ': no CUDA kernel yet for:' "$LOG" | sort -u | sed 's/^\([^:]*\): \(.*\)/| model \1 skipped | \2 |/'
  echo "| compute-sanitizer memcheck, op tests | $memcheck |"
  echo "| compute-sanitizer memcheck, reference models | $memcheck_models |"
  echo "| compute-sanitizer racecheck, op tests | $racecheck |"
  echo "| reliability: out of memory + soak | $reliability |"
  echo
  echo "| kiln run --device cuda | status | accuracy / error | timing |"
  echo "|---|---|---|---|"
  printf "%s" "$run_rows"
} >"$MD"
cat "$MD"
exit $status
