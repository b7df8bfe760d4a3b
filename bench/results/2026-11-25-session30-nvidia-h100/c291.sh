# Session 30 call 9 (build/kiln of 5c3c486, the session's final code: fcd3215 + SequenceReduction's vectors): bench/segformer.sh B2 at batch 8 with the PyTorch peers; c292 runs every GPU test beside this build/kiln.
source .devcarry/unpack.sh
R=$OUT/c291; mkdir -p $R; export R
ls -la build/kiln || exit 3
export KILN_COMMIT=$(cat .devcarry/commit)
SEGFORMER_BATCHES=8 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 520 env -u OUT bash bench/segformer.sh > $R/segformer_b8.log 2>&1; echo "segformer.sh b8 exit $?"; grep -E "^\| 8 " $R/segformer_b8.log | cut -c1-220
(cd bench/results && tar -cf $R/b8.tar $(date +%F)-segformer-b2-*)
