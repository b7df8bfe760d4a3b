# Session 12 call 6 (841af17: wide attention + tiled dwconv): bench/segformer.sh, B2 1024² batch 1, kiln fp32/fp16 and the PyTorch peers back to back.
set -o pipefail
source .devcarry/unpack.sh
export KILN_COMMIT=$(cat .devcarry/commit)
SEGFORMER_BATCHES=1 KILN=build/kiln timeout 580 bash bench/segformer.sh 2>&1 | tail -25
