# Session 18 call 8 (binaries of 2895349: AttentionBlock at stages 0 and 1, LayerNormPatchRows by invariant divisors): every GPU test, then bench/segformer.sh B2 at batch 8 and batch 1 with the PyTorch peers.
set -o pipefail
source .devcarry/unpack.sh
R=$OUT; export R
export KILN_COMMIT=$(cat .devcarry/commit)
timeout 200 build/tests/kiln_gpu_tests > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" /tmp/gpu_tests.txt | head -8; gzip -c /tmp/gpu_tests.txt > $R/c124_gpu_tests.txt.gz
SEGFORMER_BATCHES=8 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 230 env -u OUT bash bench/segformer.sh > $R/c124_segformer_b8.log 2>&1; echo "segformer.sh b8 exit $?"; grep -E "^\| 8 " $R/c124_segformer_b8.log | cut -c1-70
(cd bench/results && tar -cf $R/b8.tar $(date +%F)-segformer-b2-* && rm -rf $(date +%F)-segformer-b2-*)
SEGFORMER_BATCHES=1 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 150 env -u OUT bash bench/segformer.sh > $R/c124_segformer_b1.log 2>&1; echo "segformer.sh b1 exit $?"; grep -E "^\| 1 " $R/c124_segformer_b1.log | cut -c1-70
(cd bench/results && tar -cf $R/b1.tar $(date +%F)-segformer-b2-*)
