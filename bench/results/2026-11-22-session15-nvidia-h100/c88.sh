# Session 15 call 9 (binaries of the final code: ResizeSumConv with the projection absorbed): every GPU test; memcheck of ResizeSumConv; bench/segformer.sh B2 at batch 1 with the PyTorch peers.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 170 build/tests/kiln_gpu_tests > $R/c88_gpu_tests.txt 2>&1; echo "gpu tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/c88_gpu_tests.txt | head -10
timeout 90 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter=GpuResizeSumConv.ProjectedIdentity:GpuResizeSumConv.ConvWidthsAndTypes > $R/c88_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c88_memcheck.txt | tail -2
export KILN_COMMIT=$(cat .devcarry/commit)
SEGFORMER_BATCHES=1 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 240 env -u OUT bash bench/segformer.sh > $R/segformer_b1.log 2>&1; echo "segformer.sh b1 exit $?"; grep -E "^\| 1 " $R/segformer_b1.log | head -8
mkdir -p $R/b1 && cp -r bench/results/$(date +%F)-segformer-b2-* $R/b1/ 2>/dev/null; rm -rf bench/results/$(date +%F)-segformer-b2-*
(cd /tmp && tar -cf $OUT/results.tar res)
