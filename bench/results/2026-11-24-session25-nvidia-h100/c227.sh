# Session 25 call 18 (kiln binary of main at 1da9358; c226's tests binary left in build/): the six GPU tests that need build/kiln, bench/segformer.sh B2 at batch 8 and batch 1 with the PyTorch peers.
source .devcarry/unpack.sh
R=$OUT/c227; mkdir -p $R; export R
export KILN_COMMIT=$(cat .devcarry/commit)
ls build/tests/kiln_gpu_tests > /dev/null && timeout 60 build/tests/kiln_gpu_tests --gtest_filter='GpuDynamicFp16.*:GpuInt8Cli.*:GpuRunTask.*' > $R/rerun.txt 2>&1; echo "rerun exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/rerun.txt | head -4
SEGFORMER_BATCHES=8 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 320 env -u OUT bash bench/segformer.sh > $R/segformer_b8.log 2>&1; echo "segformer.sh b8 exit $?"; grep -E "^\| 8 " $R/segformer_b8.log | cut -c1-100
(cd bench/results && tar -cf $R/b8.tar $(date +%F)-segformer-b2-* && rm -rf $(date +%F)-segformer-b2-*)
SEGFORMER_BATCHES=1 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 190 env -u OUT bash bench/segformer.sh > $R/segformer_b1.log 2>&1; echo "segformer.sh b1 exit $?"; grep -E "^\| 1 " $R/segformer_b1.log | cut -c1-100
(cd bench/results && tar -cf $R/b1.tar $(date +%F)-segformer-b2-*)
cd $OUT && tar czf c227.tgz c227 && rm -rf c227
