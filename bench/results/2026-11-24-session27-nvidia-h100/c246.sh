# Session 27 call 4 (build/kiln of a5771d6; the tests binary of c245 still on the machine): the six GPU tests that run the CLI, then bench/segformer.sh B2 at batch 8 with the PyTorch peers.
source .devcarry/unpack.sh
R=$OUT/c246; mkdir -p $R; export R
export KILN_TEST_DIR=$PWD/tests
timeout 150 build/tests/kiln_gpu_tests --gtest_filter='GpuDynamicFp16.*:GpuInt8Cli.*:GpuRunTask.*' > $R/cli_tests.txt 2>&1; echo "cli tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $R/cli_tests.txt | head
export KILN_COMMIT=$(cat .devcarry/commit)
SEGFORMER_BATCHES=8 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 420 env -u OUT bash bench/segformer.sh > $R/segformer_b8.log 2>&1; echo "segformer.sh b8 exit $?"; grep -E "^\| 8 " $R/segformer_b8.log | cut -c1-160
(cd bench/results && tar -cf $R/b8.tar $(date +%F)-segformer-b2-*)
cd $OUT && tar czf c246.tgz c246 && rm -rf c246
