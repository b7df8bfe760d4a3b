# Session 15 call 10 (binaries as c88): bench/segformer.sh B2 at batch 8 with the PyTorch peers.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
export KILN_COMMIT=$(cat .devcarry/commit)
SEGFORMER_BATCHES=8 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 430 env -u OUT bash bench/segformer.sh > $R/segformer_b8.log 2>&1; echo "segformer.sh b8 exit $?"; grep -E "^\| 8 " $R/segformer_b8.log | head -8
mkdir -p $R/b8 && cp -r bench/results/$(date +%F)-segformer-b2-* $R/b8/ 2>/dev/null; rm -rf bench/results/$(date +%F)-segformer-b2-*
(cd /tmp && tar -cf $OUT/results.tar res)
