#!/usr/bin/env bash
# The main job: sets up and builds kiln, fetches real photographs, and segments them with
# SegFormer-B0 (tests/models, random weights until the pretrained-model issue lands), writing
# label maps and overlays to out/demo/ and printing a timing table.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
CACHE="${KILN_CACHE:-$HOME/.cache/kiln}"
PICTURES="$CACHE/pictures"
if [ ! -f "$PICTURES/astronaut.png" ]; then
  # Photographs from Debian's scikit-image package, unpacked (not installed).
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq python3-skimage >/dev/null 2>&1 && dpkg -x python3-skimage_*.deb x) || {
    echo "demo: could not fetch python3-skimage for the photographs (run apt-get update first?)" >&2
    exit 2
  }
  mkdir -p "$PICTURES"
  for p in astronaut chelsea coffee; do cp "$tmp"/x/usr/lib/python3/dist-packages/skimage/data/$p.png "$PICTURES/"; done
  rm -rf "$tmp"
fi

DEVICE=cpu  # the CUDA backend is not built yet
MODEL=tests/models/segformer_b0/model.onnx
OUT=out/demo
mkdir -p "$OUT"
printf '\n%-16s %-8s %12s %12s  %s\n' picture device prepare_ms run_ms result
for p in astronaut chelsea coffee; do
  json=$(build/kiln run "$MODEL" --image "$PICTURES/$p.png" --task semantic --device $DEVICE --output "$OUT" --json)
  prep=$(grep -A2 '"time_ms"' <<<"$json" | grep prepare | tr -dc '0-9.')
  run=$(grep -A3 '"time_ms"' <<<"$json" | grep '"run"' | tr -dc '0-9.')
  printf '%-16s %-8s %12.1f %12.1f  %s\n' "$p" $DEVICE "$prep" "$run" "$OUT/${p}_overlay.png"
done
