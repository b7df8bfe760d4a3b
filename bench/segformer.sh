#!/usr/bin/env bash
# SegFormer on the GPU: kiln (fp32 and fp16 engines) against PyTorch eager fp32, eager fp16 and
# torch.compile fp16, back to back on one GPU (protocol: ../shared/BENCH.md).
#
#   KILN=build/kiln bash bench/segformer.sh [--quick]
#
# Run from anywhere on the GPU machine (python3 with torch, transformers, onnx, onnxruntime; a
# CUDA build of kiln at $KILN, default build/kiln). For each batch B of SEGFORMER_BATCHES
# (default "1 8"), variant SEGFORMER_VARIANT (default b2) at SEGFORMER_HW (default: the
# variant's, 1024x1024 for b2):
#   1. tools/export/export_segformer.py --batch B --hw HxW: static ONNX + PyTorch CPU golden, into
#      SEGFORMER_WORK (default /tmp/kiln-bench-segformer); reused while the exporter is unchanged
#   2. bench/torch_segformer.py: the PyTorch peers, the input (NAME.input.npy), the fp32 reference
#      (NAME.ref.npz)
#   3. kiln build --device cuda --fp32|--fp16 --shape pixel_values=Bx3xHxW --json (wall time kept),
#      kiln bench --input pixel_values=NAME.input.npy --ref NAME.ref.npz --iterations 100 --warmup 20 --json
# then bench/summarize_segformer.py writes bench/results/DATE-segformer-VARIANT-GPU.md, with the
# raw JSONs and full logs in the folder of the same name beside it (both also copied into $OUT
# when it is set), and the table is printed last.
#   --quick   smoke test: 10 timed iterations after 3 warm-up, no torch.compile; "-quick" in the
#             result's name and title
# A failed step is reported with the tail of its log; the steps that do not need it still run,
# and the script exits 1. KILN_COMMIT names the commit when there is no .git (the GPU machine's copy).
# Time: B2 at batches 1 and 8 takes several minutes (CPU golden in the export, torch.compile's
# first call per shape); under a 10-minute limit run SEGFORMER_BATCHES=1 and =8 apart and merge:
#   python3 bench/summarize_segformer.py DIR_B1 DIR_B8 --out bench/results/NAME.md
set -euo pipefail
trap 'echo "segformer.sh: FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR
[[ -z ${KILN:-} ]] || KILN=$(realpath -m "$KILN")  # relative to where it was called from
cd "$(dirname "$0")/.."

QUICK=0
for arg in "$@"; do
  case $arg in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "segformer.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

KILN=${KILN:-$PWD/build/kiln}
[[ -x $KILN ]] || { echo "segformer.sh: no kiln binary at $KILN (set KILN=PATH)" >&2; exit 2; }
VARIANT=${SEGFORMER_VARIANT:-b2}
BATCHES=${SEGFORMER_BATCHES:-1 8}
HW=${SEGFORMER_HW:-$(python3 -c 'import sys; sys.path.insert(0, "tools/export"); import export_segformer as e
print("%dx%d" % e.VARIANTS[sys.argv[1]]["hw"])' "$VARIANT")}
WORK=${SEGFORMER_WORK:-/tmp/kiln-bench-segformer}
if [[ $QUICK == 1 ]]; then
  TORCH_ARGS=(--iterations 10 --warmup 3 --no-compile); KILN_ITERS=10; KILN_WARMUP=3
else
  TORCH_ARGS=(--iterations 50 --warmup 10); KILN_ITERS=100; KILN_WARMUP=20
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)
SLUG=$(tr '[:upper:]' '[:lower:]' <<<"$GPU" | sed -E 's/[^a-z0-9]+/-/g; s/^-+|-+$//g')
STEM=$(date +%F)-segformer-$VARIANT-$SLUG
[[ -z ${SEGFORMER_HW:-} ]] || STEM+=-$HW
[[ $BATCHES == "1 8" ]] || STEM+=-b${BATCHES// /-}
[[ $QUICK == 0 ]] || STEM+=-quick
RAW=bench/results/$STEM
LOGS=$RAW/logs
rm -rf "$RAW"
mkdir -p "$LOGS" "$WORK/io"
COMMIT=${KILN_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
START=$SECONDS
echo "segformer.sh: $VARIANT ${HW}, batches $BATCHES, on $GPU; kiln $KILN ($COMMIT); results $RAW.md; scratch $WORK"
{
  echo "date: $(date -u +%FT%TZ)"; echo "kiln: $KILN: $("$KILN" --version)"; echo "commit: $COMMIT"
  nvidia-smi
  python3 -c 'import platform, torch, transformers, onnx, onnxruntime, numpy
print("python", platform.python_version(), "torch", torch.__version__, "cuda", torch.version.cuda,
      "cudnn", torch.backends.cudnn.version(), "transformers", transformers.__version__, "onnx", onnx.__version__,
      "onnxruntime", onnxruntime.__version__, "numpy", numpy.__version__)' || echo "(python versions: failed)"
} >"$LOGS/env.log" 2>&1

# record FILE KEY=STRING|KEY:=JSON ...: write a JSON object
record() {
  python3 - "$@" <<'PY'
import json, sys
d = {}
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    d[k.rstrip(":")] = json.loads(v) if k.endswith(":") else v
with open(sys.argv[1], "w") as f:
    json.dump(d, f, indent=1)
    f.write("\n")
PY
}

FAILED=()
# step LABEL LOG STDOUT|- CMD...: run CMD with its output in LOG (stdout in STDOUT when not -);
# on failure print the log's tail, remember LABEL and return CMD's status
step() {
  local label=$1 log=$2 out=$3 t0=$SECONDS rc=0
  shift 3
  echo "== $label ($(date +%T), $((SECONDS - START)) s in)"
  if [[ $out == - ]]; then "$@" >"$log" 2>&1 || rc=$?; else "$@" >"$out" 2>"$log" || rc=$?; fi
  if [[ $rc == 0 ]]; then
    echo "   ok, $((SECONDS - t0)) s"
  else
    echo "!! $label FAILED (exit $rc) after $((SECONDS - t0)) s; end of $log:" >&2
    tail -n 30 "$log" | sed 's/^/   | /' >&2
    FAILED+=("$label")
  fi
  return $rc
}

STAMP=$(cat tools/export/export_segformer.py tools/export/kiln_export_common.py | sha256sum | cut -c1-16)
for B in $BATCHES; do
  SHAPE=${B}x3x${HW}
  NAME=segformer_${VARIANT}_$SHAPE
  ONNX=$WORK/onnx_$NAME
  if [[ -f $ONNX/model.onnx && -f $ONNX/meta.json && $(cat "$ONNX/.stamp" 2>/dev/null) == "$STAMP" ]]; then
    echo "== export $NAME: reusing $ONNX (exporter unchanged)"
  else
    rm -rf "$ONNX"
    step "export b$B" "$LOGS/export_b$B.log" - \
      python3 tools/export/export_segformer.py --variant "$VARIANT" --batch "$B" --hw "$HW" --out "$ONNX" || continue
    echo "$STAMP" >"$ONNX/.stamp"
  fi
  cp "$ONNX/meta.json" "$RAW/export_b$B.meta.json"

  INPUT=$WORK/io/$NAME.input.npy
  REF=$WORK/io/$NAME.ref.npz
  rm -f "$INPUT" "$REF"
  step "torch b$B" "$LOGS/torch_b$B.log" - \
    python3 bench/torch_segformer.py --variant "$VARIANT" --batch "$B" --hw "$HW" "${TORCH_ARGS[@]}" \
      --out-dir "$WORK/io" --json-out "$RAW/torch_b$B.json" || true
  if [[ ! -f $REF || ! -f $INPUT ]]; then
    echo "!! no PyTorch reference for batch $B: kiln not run at this batch" >&2
    FAILED+=("kiln b$B (no reference)")
    continue
  fi

  for P in fp32 fp16; do
    ENGINE=$WORK/${NAME}_$P.kiln
    rm -f "$ENGINE"
    build_rc=0 bench_rc=null
    t0=$(date +%s%N)
    step "kiln build $P b$B" "$LOGS/kiln_build_${P}_b$B.log" "$RAW/kiln_${P}_b$B.build.json" \
      "$KILN" build "$ONNX/model.onnx" -o "$ENGINE" --device cuda "--$P" --shape "pixel_values=$SHAPE" --json || build_rc=$?
    build_wall=$(( ($(date +%s%N) - t0) / 1000000 ))
    if [[ $build_rc == 0 ]]; then
      bench_rc=0
      step "kiln bench $P b$B" "$LOGS/kiln_bench_${P}_b$B.log" "$RAW/kiln_${P}_b$B.bench.json" \
        "$KILN" bench "$ENGINE" --input "pixel_values=$INPUT" --ref "$REF" \
          --iterations "$KILN_ITERS" --warmup "$KILN_WARMUP" --json || bench_rc=$?
    fi
    record "$RAW/kiln_${P}_b$B.run.json" tool=kiln-run precision="$P" batch:="$B" shape="$SHAPE" \
      build_wall_s:="$(printf '%d.%03d' $((build_wall / 1000)) $((build_wall % 1000)))" \
      build_rc:="$build_rc" bench_rc:="$bench_rc" \
      build_json="kiln_${P}_b$B.build.json" bench_json="kiln_${P}_b$B.bench.json" engine="$ENGINE"
    rm -f "$ENGINE"
  done
done

record "$RAW/segformer_run.json" tool=segformer.sh date="$(date +%F)" gpu="$GPU" variant="$VARIANT" hw="$HW" \
  batches="$BATCHES" quick:="$([[ $QUICK == 1 ]] && echo true || echo false)" \
  kiln_version="$("$KILN" --version)" kiln_binary="$KILN" commit="$COMMIT" \
  kiln_iterations:="$KILN_ITERS" kiln_warmup:="$KILN_WARMUP" raw_dir="$RAW" \
  failed="$(IFS=';'; echo "${FAILED[*]}")" seconds:="$((SECONDS - START))"
rc=0
python3 bench/summarize_segformer.py "$RAW" --out "$RAW.md" >"$LOGS/table.md" 2>"$LOGS/summarize.log" || rc=$?
if [[ $rc != 0 ]]; then
  FAILED+=("summarize")
  cat "$LOGS/summarize.log" >&2
fi
if [[ -n ${OUT:-} ]]; then
  mkdir -p "$OUT/results"
  cp -r "$RAW" "$OUT/results/"
  [[ ! -f $RAW.md ]] || cp "$RAW.md" "$OUT/results/"
fi
echo
echo "segformer.sh: $((SECONDS - START)) s; $RAW.md, raw JSONs and logs in $RAW/${OUT:+ (copied to \$OUT/results)}"
if ((${#FAILED[@]})); then
  echo "segformer.sh: FAILED steps: $(IFS=','; echo "${FAILED[*]}")" >&2
fi
echo
cat "$LOGS/table.md"
[[ ${#FAILED[@]} == 0 ]] || exit 1
