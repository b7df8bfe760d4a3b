#!/usr/bin/env bash
# Usage: tests/ort/check_models.sh KILN_BINARY MODELS_DIR
#
# Runs the ONNX Runtime live reference (live_reference.js) on every MODELS_DIR/*/model.onnx
# with fresh random inputs. A model folder may hold live_reference.args: extra arguments for
# live_reference.js (e.g. --shape pixel_values=1x3x512x512, --rtol-l2 1e-3, --input NAME=FILE.npy
# with FILE relative to the model's folder), '#' comments allowed.
# Tolerance: relative L2 1e-5 (live_reference.js's default for fp32 models; 1e-3 when a graph
# input or output is float16) unless the args file says otherwise.
# Environment: KILN_ORT_SEED pins the seed for every model; KILN_ORT_ARGS adds arguments.
#
# Exit: 0 every model matched; 1 a model did not; 2 bad arguments or ONNX Runtime could not be
# installed; 77 (ctest SKIP_RETURN_CODE) node is missing, or MODELS_DIR holds no model.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ $# -ne 2 ]]; then
  echo "usage: $0 KILN_BINARY MODELS_DIR" >&2
  exit 2
fi
kiln="$1"
models_dir="$2"

if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node not found on PATH; the ONNX Runtime live reference needs node (and npm once, for tests/ort/setup.sh)"
  exit 77
fi
[[ -x "$kiln" ]] || { echo "check_models: kiln binary not found or not executable: $kiln" >&2; exit 2; }
[[ -d "$models_dir" ]] || { echo "check_models: models dir not found: $models_dir" >&2; exit 2; }

shopt -s nullglob
models=("$models_dir"/*/model.onnx)
if [[ ${#models[@]} -eq 0 ]]; then
  echo "SKIP: no */model.onnx under $models_dir: nothing to check against ONNX Runtime"
  exit 77
fi

"$here/setup.sh" || exit 2

extra=()
[[ -n "${KILN_ORT_SEED:-}" ]] && extra+=(--seed "$KILN_ORT_SEED")
# shellcheck disable=SC2206  # word splitting intended
[[ -n "${KILN_ORT_ARGS:-}" ]] && extra+=(${KILN_ORT_ARGS})

passed=0
failed=0
failed_names=()
for model in "${models[@]}"; do
  dir="$(dirname "$model")"
  name="$(basename "$dir")"
  args=()
  if [[ -f "$dir/live_reference.args" ]]; then
    # shellcheck disable=SC2207
    args=($(sed 's/#.*//' "$dir/live_reference.args"))
  fi
  # --input files named in live_reference.args are relative to the model's folder
  for i in "${!args[@]}"; do
    if [[ $i -gt 0 && ${args[$((i - 1))]} == --input && ${args[$i]} == *=* && ${args[$i]#*=} != /* ]]; then
      args[$i]="${args[$i]%%=*}=$dir/${args[$i]#*=}"
    fi
  done
  echo "=== $name"
  node "$here/live_reference.js" --kiln "$kiln" --model "$model" "${args[@]}" "${extra[@]}"
  rc=$?
  if [[ $rc -eq 0 ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failed_names+=("$name (exit $rc)")
  fi
done

echo "==="
[[ $failed -gt 0 ]] && echo "failed models: ${failed_names[*]}"
echo "models: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
