# Session 29 call 16 (build/kiln of 8766403): bench/segformer.sh B2 at batch 1 and SegFormer-B0 at 512x512 batch 1, each with the PyTorch peers.
source .devcarry/unpack.sh
R=$OUT/c281; mkdir -p $R; export R
export KILN_COMMIT=$(cat .devcarry/commit)
SEGFORMER_BATCHES=1 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 280 env -u OUT bash bench/segformer.sh > $R/segformer_b2_b1.log 2>&1; echo "segformer.sh b2 b1 exit $?"; grep -E "^\| 1 " $R/segformer_b2_b1.log | cut -c1-220
SEGFORMER_VARIANT=b0 SEGFORMER_BATCHES=1 SEGFORMER_WORK=/tmp/sw0 KILN=build/kiln timeout 280 env -u OUT bash bench/segformer.sh > $R/segformer_b0_b1.log 2>&1; echo "segformer.sh b0 b1 exit $?"; grep -E "^\| 1 " $R/segformer_b0_b1.log | cut -c1-220
(cd bench/results && tar -cf $R/b1.tar $(date +%F)-segformer-b*)
