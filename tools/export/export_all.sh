#!/usr/bin/env bash
# Export all kiln reference models (random weights, fixed seeds) into OUTDIR.
#   bash tools/export/export_all.sh OUTDIR [LOGDIR]
# OUTDIR/<model>/{model.onnx, model.weights.N, inputs/, golden/, meta.json}; logs in LOGDIR
# (default OUTDIR/../export_logs). Needs python3 with torch, transformers, onnx, onnxruntime.
# Exits non-zero if any model failed; the others are still written.
set -u
OUTDIR=${1:?usage: export_all.sh OUTDIR [LOGDIR]}
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
LOGDIR=${2:-$OUTDIR/../export_logs}
mkdir -p "$LOGDIR"
HERE=$(cd "$(dirname "$0")" && pwd)
export PYTHONUNBUFFERED=1
# four exports run side by side; keep each one's thread pools small
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
export TOKENIZERS_PARALLELISM=false
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

python3 - <<'PY' 2>&1 | tee "$LOGDIR/versions.log"
import platform, torch, transformers, onnx, onnxruntime, numpy
print("python", platform.python_version(), "torch", torch.__version__, "transformers", transformers.__version__,
      "onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__, "numpy", numpy.__version__)
print("cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
PY

declare -A PIDS
start() {  # name, script, args...
  local name=$1; shift
  rm -rf "$OUTDIR/$name"
  ( python3 "$@" --out "$OUTDIR/$name" >"$LOGDIR/$name.log" 2>&1 ) &
  PIDS[$name]=$!
}
start segformer_tiny   "$HERE/export_segformer.py" --variant tiny
start segformer_b0     "$HERE/export_segformer.py" --variant b0
start mask2former_tiny "$HERE/export_mask2former.py"
start detr_tiny        "$HERE/export_detr.py"
start anchor_detr_tiny "$HERE/export_anchor_detr.py" --config tiny --also 96x128:2

fail=0
for name in segformer_tiny segformer_b0 mask2former_tiny detr_tiny anchor_detr_tiny; do
  if wait "${PIDS[$name]}"; then
    echo "== $name: OK"
  else
    echo "== $name: FAILED (log follows)"; fail=1
  fi
  tail -n 40 "$LOGDIR/$name.log"
done

python3 - "$OUTDIR" <<'PY'
import json, os, sys
root = sys.argv[1]
print(f"\n{'model':18s} {'nodes':>6s} {'params':>9s} {'MB':>6s}  outputs / onnxruntime rel-L2")
for name in sorted(os.listdir(root)):
    p = os.path.join(root, name, "meta.json")
    if not os.path.exists(p):
        continue
    m = json.load(open(p))
    mb = sum(m["files_bytes"].values()) / 1e6
    rel = m["onnxruntime_rel_l2"]
    outs = ", ".join(f"{k}{v} " + (f"{rel[k]:.2e}" if rel[k] is not None else "n/a") for k, v in m["outputs"].items())
    print(f"{name:18s} {m['onnx_nodes']:6d} {m['parameters']:9d} {mb:6.2f}  {outs}")
    big = [f for f, n in m["files_bytes"].items() if n > 5_000_000]
    print(f"{'':18s} opset {m['opset_import']} float64 casts/consts {m.get('float64_casts_and_constants')}"
          f" exporter: {m['exporter']}" + (f" ORT ERROR: {m['onnxruntime_error']}" if m.get("onnxruntime_error") else "")
          + (f" FILES OVER 5 MB: {big}" if big else ""))
    print(f"{'':18s} ops: {' '.join(f'{k}:{v}' for k, v in m['op_histogram'].items())}")
PY
exit $fail
