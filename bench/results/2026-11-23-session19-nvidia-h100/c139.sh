# Session 19 call 11 (kiln binary of c9abc8a): bench/segformer.sh B2 at batch 8 with the PyTorch peers, SegFormer-B0 512² b1, B2 b8 bench and profile.
set -o pipefail
source .devcarry/unpack.sh
R=$OUT/c139; mkdir -p $R; export R
export KILN_COMMIT=$(cat .devcarry/commit)
SEGFORMER_BATCHES=8 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 420 env -u OUT bash bench/segformer.sh > $R/segformer_b8.log 2>&1; echo "segformer.sh b8 exit $?"; grep -E "^\| 8 " $R/segformer_b8.log | cut -c1-90
(cd bench/results && tar -cf $R/b8.tar $(date +%F)-segformer-b2-*)
bash .devcarry/segbench.sh c139 "b0 1" "b2 8" 2>&1 | grep -E "fp16 median|layers|MixFFN|AttentionBlock"
