# Session 16 call 9 (binaries of ab73ba3: TMA attention, LayerNormPatchRows, packed K/V): bench/segformer.sh B2 at batch 1 with the PyTorch peers.
set -o pipefail
source .devcarry/unpack.sh
R=$OUT; export R
export KILN_COMMIT=$(cat .devcarry/commit)
SEGFORMER_BATCHES=1 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 300 env -u OUT bash bench/segformer.sh > $R/segformer_b1.log 2>&1; echo "segformer.sh b1 exit $?"; grep -E "^\| 1 " $R/segformer_b1.log | head -8
cd bench/results && tar -cf $R/b1.tar $(date +%F)-segformer-b2-*
