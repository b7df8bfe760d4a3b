#!/usr/bin/env bash
# The main job, from a fresh machine: installs the Debian packages and builds kiln
# (scripts/setup.sh), fetches real photographs and the pretrained ISNet into a cache directory,
# cuts the foreground out of each photograph with ISNet, segments them with SegFormer-B0
# (tests/models, random weights) and prints a timing table. Runs on CUDA when a GPU is present,
# on the CPU reference backend otherwise. Results go to out/demo/.
#
# Usage: scripts/demo.sh [--check]
#   --check   also run ONNX Runtime (tests/ort, onnxruntime-node) on the same preprocessed
#             input and require ISNet's foreground mask (threshold 0.5) to match: IoU >= 0.99.
# Environment: KILN_CACHE (default ~/.cache/kiln) holds everything fetched; nothing fetched is
# committed (the ISNet weights are AGPL-3.0 and stay in the cache). KILN_OFFLINE=1, for a machine
# with no network: installs and fetches nothing, and runs the existing build/kiln on what the
# cache already holds (copied there from a machine that ran this script), or stops saying what
# is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

CHECK=0
for arg in "$@"; do
  case "$arg" in
    --check) CHECK=1 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown option '$arg' (use --check or --help)" >&2; exit 2 ;;
  esac
done

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
t_start=$(now)
CACHE="${KILN_CACHE:-$HOME/.cache/kiln}"
PICTURES="$CACHE/pictures"
PHOTOS=(astronaut chelsea coffee)
if [ "${KILN_OFFLINE:-0}" = 1 ]; then
  for need in build/kiln "$PICTURES/coffee.png" "$CACHE/models/isnet_fp16.onnx.verified"; do
    [ -e "$need" ] || { echo "demo: KILN_OFFLINE=1 but $need is missing: run scripts/demo.sh once on a machine with network and copy build/ and $CACHE here" >&2; exit 2; }
  done
  echo "demo: KILN_OFFLINE=1: nothing installed or fetched; build/kiln and $CACHE as they are"
else
  bash scripts/setup.sh --kiln-only
fi
t_built=$(now)

if [ ! -f "$PICTURES/coffee.png" ]; then
  # Photographs from Debian's scikit-image package, unpacked (not installed).
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq python3-skimage >/dev/null 2>&1 && dpkg -x python3-skimage_*.deb x) || {
    rm -rf "$tmp"
    echo "demo: could not fetch python3-skimage for the photographs (run apt-get update first?)" >&2
    exit 2
  }
  mkdir -p "$PICTURES"
  for p in "${PHOTOS[@]}"; do cp "$tmp"/x/usr/lib/python3/dist-packages/skimage/data/$p.png "$PICTURES/"; done
  rm -rf "$tmp"
fi
ISNET=$(bash scripts/fetch_isnet.sh "$CACHE" | tail -n1)
t_fetched=$(now)

# CUDA when a GPU is present; without a GPU, the CPU reference backend. A GPU that this build
# cannot use is an error, not a reason to fall back.
DEVICE=cpu
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  probe=$(mktemp -d)
  if ! build/kiln run tests/models/segformer_tiny/model.onnx --input pixel_values=random --seed 1 \
      --device cuda -o "$probe" >"$probe/log" 2>&1; then
    echo "demo: a GPU is present ($(nvidia-smi -L | head -n1)) but this kiln build cannot run on it: $(tail -n1 "$probe/log")" >&2
    echo "demo: install the CUDA toolkit (nvcc in /usr/local/cuda) and rerun; the build then includes the CUDA backend" >&2
    rm -rf "$probe"
    exit 2
  fi
  rm -rf "$probe"
  DEVICE=cuda
  echo "demo: GPU found ($(nvidia-smi -L | head -n1)): running on --device cuda"
else
  echo "demo: no GPU found (nvidia-smi): running on the CPU reference backend (--device cpu, $(nproc) cores)"
fi

load_before=$(cut -d' ' -f1 /proc/loadavg)
OUT=out/demo
rm -rf "$OUT"
mkdir -p "$OUT/isnet" "$OUT/segformer_b0"
ROWS=()
report() {  # report JSON_FILE TASK: prep ms, run ms, result, side-by-side picture from kiln's --json
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
if sys.argv[2] == "matte":
    result = f"foreground {100 * r['matte']['foreground_fraction']:.1f}%"
else:
    result = f"{len(r['semantic']['present'])} of {r['semantic']['classes']} classes"
side = [p for p in r["pictures"] if p.endswith("side_by_side.png")][0]
print(f"{r['time_ms']['prepare']:.0f}\t{r['time_ms']['run']:.0f}\t{result}\t{side}")
PY
}
run_one() {  # run_one LABEL MODEL PICTURE TASK OUTDIR [extra kiln args]
  local label=$1 model=$2 photo=$3 task=$4 dir=$5
  shift 5
  local t0 json=$dir/$photo.json
  t0=$(now)
  build/kiln run "$model" --image "$PICTURES/$photo.png" --task "$task" --device "$DEVICE" -o "$dir" --json "$@" >"$json"
  local wall; wall=$(secs "$t0" "$(now)")
  local prep run result side
  IFS=$'\t' read -r prep run result side < <(report "$json" "$task")
  ROWS+=("$(printf '%-14s %-10s %-6s %9s %9s %8s  %-20s %s' "$label" "$photo" "$DEVICE" "$prep" "$run" "$wall" "$result" "$side")")
}

for p in "${PHOTOS[@]}"; do
  echo "demo: ISNet (pretrained, fp16, 1024x1024) on $p"
  extra=()
  [ "$CHECK" = 1 ] && extra=(--save-input)
  run_one isnet "$ISNET" "$p" matte "$OUT/isnet" "${extra[@]}"
  mv "$OUT/isnet/output.npy" "$OUT/isnet/$p.output.npy"
  if [ "$CHECK" = 1 ]; then mv "$OUT/isnet/input.npy" "$OUT/isnet/$p.input.npy"; fi
done
for p in "${PHOTOS[@]}"; do
  echo "demo: SegFormer-B0 (tests/models, RANDOM weights: the labels are noise, the timing is real) on $p"
  run_one segformer_b0 tests/models/segformer_b0/model.onnx "$p" semantic "$OUT/segformer_b0"
  mv "$OUT/segformer_b0/logits.npy" "$OUT/segformer_b0/$p.logits.npy"
done

# On the GPU, the runs above are first runs (planning, copies from the host); an engine built
# once and replayed as a CUDA Graph shows the steady state a service would see.
GPU_ROWS=()
if [ "$DEVICE" = cuda ]; then
  for spec in "isnet $ISNET fp16" "segformer_b0 tests/models/segformer_b0/model.onnx fp16"; do
    read -r label model precision <<<"$spec"
    echo "demo: $label: kiln build --device cuda --$precision, then kiln bench"
    t0=$(now)
    build/kiln build "$model" --device cuda --"$precision" -o "$OUT/$label.kiln" >/dev/null
    build_s=$(secs "$t0" "$(now)")
    build/kiln bench "$OUT/$label.kiln" --batch 1 --iterations 200 --warmup 20 --json >"$OUT/$label.bench.json"
    GPU_ROWS+=("$(python3 - "$OUT/$label.bench.json" "$label" "$precision" "$build_s" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
row = r["rows"][0]
g = row["gpu_ms"]
print(f"{sys.argv[2]:<14} {sys.argv[3]:<9} {float(sys.argv[4]):>7.1f} {g['median']:>10.3f} {g['p90']:>8.3f} {row['e2e_ms']['median']:>8.3f}")
PY
)")
  done
fi
t_ran=$(now)

CHECKED=""
if [ "$CHECK" = 1 ]; then
  bash tests/ort/setup.sh >/dev/null
  for p in "${PHOTOS[@]}"; do
    echo "demo: ONNX Runtime vs kiln, ISNet on $p: $(node tests/ort/matte_iou.js "$ISNET" "$OUT/isnet/$p.input.npy" "$OUT/isnet/$p.output.npy" --min-iou 0.99)"
  done
  CHECKED=" (ONNX Runtime check passed)"
fi

echo
printf '%-14s %-10s %-6s %9s %9s %8s  %-20s %s\n' model picture device prep_ms run_ms wall_s result side_by_side
for row in "${ROWS[@]}"; do echo "$row"; done
if ((${#GPU_ROWS[@]})); then
  echo
  echo "GPU steady state ($(nvidia-smi --query-gpu=name --format=csv,noheader | head -n1)), batch 1, CUDA Graph replays, 200 timed runs:"
  printf '%-14s %-9s %7s %10s %8s %8s\n' model precision build_s gpu_median gpu_p90 e2e_ms
  for row in "${GPU_ROWS[@]}"; do echo "$row"; done
fi
echo
echo "setup + build $(secs "$t_start" "$t_built") s, fetch $(secs "$t_built" "$t_fetched") s, runs $(secs "$t_fetched" "$t_ran") s, total $(secs "$t_start" "$(now)") s$CHECKED"
echo "load average (1 min) $load_before before the runs, $(cut -d' ' -f1 /proc/loadavg) after, on $(nproc) cores: other work on the machine slows these figures"
echo "ISNet: mask, RGBA cut-out and side by side in $OUT/isnet/; SegFormer-B0 (random weights) in $OUT/segformer_b0/"
