#!/usr/bin/env bash
# Builds (when needed) and runs libFuzzer targets: run.sh TARGET|all SECONDS [CORPUS_DIR]
#   TARGET      onnx_import, engine_file, npy, npz or image (tests/fuzz/fuzz_TARGET.cpp)
#   SECONDS     how long each target runs
#   CORPUS_DIR  the working corpus, grown by the run (default build-fuzz/corpus/TARGET; with
#               `all`, CORPUS_DIR/TARGET); the seeds of make_corpus.sh are read as well
# Prints executions, seconds, corpus size and status per target; exits non-zero when a target
# finds something (crash, sanitizer report, leak, out-of-memory, timeout). Reproducers go to
# build-fuzz/findings/TARGET/, logs to build-fuzz/logs/TARGET.log.
# Environment: KILN_FUZZ_BUILD (build-fuzz), KILN_FUZZ_JOBS (build jobs: nproc), KILN_FUZZ_SEED (1: the same
# mutations every run, for reproducible CI; 0 lets libFuzzer pick), KILN (build/kiln, for the
# engine seeds). No network: everything comes from the repository and Debian packages.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
targets=(onnx_import engine_file npy npz image)
if [[ $# -lt 2 || ! $2 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 {$(IFS='|'; echo "${targets[*]}")|all} SECONDS [CORPUS_DIR]" >&2
  exit 2
fi
target=${1#fuzz_}
seconds=$2
corpus_arg=${3:-}
build=${KILN_FUZZ_BUILD:-$root/build-fuzz}
jobs=${KILN_FUZZ_JOBS:-$(nproc)}
seed=${KILN_FUZZ_SEED:-1}

# Largest input per target: the biggest seed fits (models and .npy inputs), pictures stay small.
max_len_of() {
  case $1 in
    onnx_import | engine_file) echo 4194304 ;;
    npy) echo 262144 ;;
    npz) echo 65536 ;;
    image) echo 16384 ;;
  esac
}

if [[ $target == all ]]; then
  status=0
  for t in "${targets[@]}"; do
    "$0" "$t" "$seconds" ${corpus_arg:+"$corpus_arg/$t"} || status=1
  done
  exit $status
fi
if [[ ! " ${targets[*]} " =~ " $target " ]]; then
  echo "run.sh: unknown target '$1' (${targets[*]})" >&2
  exit 2
fi

if [[ ! -f $build/CMakeCache.txt ]]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DKILN_FUZZ=ON -DKILN_CUDA=OFF "${launcher[@]}" >/dev/null
fi
cmake --build "$build" -j"$jobs" --target "fuzz_$target" >/dev/null

seeds=$build/seeds
[[ -d $seeds/$target ]] || "$root/tools/fuzz/make_corpus.sh" "$seeds" "${KILN:-$root/build/kiln}" >/dev/null
corpus=${corpus_arg:-$build/corpus/$target}
findings=$build/findings/$target
log=$build/logs/$target.log
mkdir -p "$corpus" "$findings" "$(dirname "$log")"
dict=()
[[ $target == onnx_import ]] && dict=(-dict="$root/tools/fuzz/onnx.dict")

set +e
start=$SECONDS
# One thread for the kernels constant folding runs; leaks count as findings.
OMP_NUM_THREADS=1 "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len="$(max_len_of "$target")" \
  -rss_limit_mb=2048 -timeout=10 -seed="$seed" -print_final_stats=1 -detect_leaks=1 \
  -artifact_prefix="$findings/" "${dict[@]}" "$corpus" "$seeds/$target" >"$log" 2>&1
rc=$?
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
secs=$((SECONDS - start))  # wall time, also when a finding stopped the run early
printf '%-12s executions %-10s seconds %-5s corpus %-6s exit %s%s\n' "$target" "${execs:-?}" \
  "$secs" "$(find "$corpus" -type f | wc -l)" "$rc" \
  "$([[ $rc != 0 ]] && echo " FINDING: $(grep -m1 -E 'ERROR|runtime error|==[0-9]+==' "$log" || true) (log $log, reproducer in $findings)")"
exit $rc
