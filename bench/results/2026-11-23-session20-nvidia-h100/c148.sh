# Session 20 call 7 (kiln binary of ec46089): bench/segformer.sh B2 at batch 8 and then batch 1 with the PyTorch peers.
source .devcarry/unpack.sh
R=$OUT/c148; mkdir -p $R; export R
export KILN_COMMIT=$(cat .devcarry/commit)
build/kiln --version 2>&1 | head -1
SEGFORMER_BATCHES=8 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 330 env -u OUT bash bench/segformer.sh > $R/segformer_b8.log 2>&1; echo "segformer.sh b8 exit $?"; grep -E "^\| 8 " $R/segformer_b8.log | cut -c1-100
(cd bench/results && tar -cf $R/b8.tar $(date +%F)-segformer-b2-* && rm -rf $(date +%F)-segformer-b2-*)
SEGFORMER_BATCHES=1 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 200 env -u OUT bash bench/segformer.sh > $R/segformer_b1.log 2>&1; echo "segformer.sh b1 exit $?"; grep -E "^\| 1 " $R/segformer_b1.log | cut -c1-100
(cd bench/results && tar -cf $R/b1.tar $(date +%F)-segformer-b2-*)
