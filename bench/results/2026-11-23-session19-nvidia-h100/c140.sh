# Session 19 call 12 (binaries of c9abc8a; the kiln binary stays from c139 on the warm machine): every GPU test, then bench/segformer.sh B2 at batch 1 with the PyTorch peers.
set -o pipefail
source .devcarry/unpack.sh
R=$OUT/c140; mkdir -p $R; export R
export KILN_COMMIT=$(cat .devcarry/commit)
build/kiln --version 2>&1 | head -1
timeout 240 build/tests/kiln_gpu_tests > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|tests ran" /tmp/gpu_tests.txt | head -8; gzip -c /tmp/gpu_tests.txt > $R/gpu_tests.txt.gz
(cd bench/results && rm -rf $(date +%F)-segformer-b2-*)
SEGFORMER_BATCHES=1 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 200 env -u OUT bash bench/segformer.sh > $R/segformer_b1.log 2>&1; echo "segformer.sh b1 exit $?"; grep -E "^\| 1 " $R/segformer_b1.log | cut -c1-90
(cd bench/results && tar -cf $R/b1.tar $(date +%F)-segformer-b2-*)
