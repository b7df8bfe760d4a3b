# Session 29 call 14 (build/kiln of 8766403, the session's final code: 590b306 + cuBLASLt over 32 candidates): bench/segformer.sh B2 at batch 8 with the PyTorch peers; c280 runs every GPU test beside this build/kiln.
source .devcarry/unpack.sh
R=$OUT/c279; mkdir -p $R; export R
ls -la build/kiln || exit 3
export KILN_COMMIT=$(cat .devcarry/commit)
SEGFORMER_BATCHES=8 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 520 env -u OUT bash bench/segformer.sh > $R/segformer_b8.log 2>&1; echo "segformer.sh b8 exit $?"; grep -E "^\| 8 " $R/segformer_b8.log | cut -c1-220
(cd bench/results && tar -cf $R/b8.tar $(date +%F)-segformer-b2-*)
