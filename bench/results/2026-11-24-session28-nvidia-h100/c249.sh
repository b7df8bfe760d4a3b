# Session 28 call 2 (tests binary: the flash loop's row sums on the tensor cores — P times a 1 KB tile of ones, m64n8 — instead of the softmax's FADD trees): the attention GPU tests and the models', memcheck and racecheck, the attention op benches twice; c250 runs main's f803d56 binary's benches right after on the same machine.
source .devcarry/unpack.sh
R=$OUT/c249; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
hostname > $R/host.txt; timeout 250 $T --gtest_filter='GpuAttention*:GpuSegformer*:GpuMask2Former*:GpuAnchor*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head -30
timeout 120 compute-sanitizer --tool memcheck $T --gtest_filter='GpuAttention.WgmmaKernelSplitKeys:GpuAttention.WgmmaLazyRescale:GpuAttentionBlock.RaggedTokensAndKeys:GpuAttentionBlock.TwoHeads' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -2 $R/memcheck.txt
timeout 120 compute-sanitizer --tool racecheck $T --gtest_filter='GpuAttention.WgmmaKernelMatchesCpu:GpuAttentionBlock.RaggedTokensAndKeys' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "RACECHECK SUMMARY|ERROR SUMMARY" $R/racecheck.txt | head -3
for round in 1 2; do for v in new; do
  B=$T
  timeout 100 $B --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockBench*:*AttentionWgmmaBench*' 2>&1 | grep -E "slack 8 |Failure" | sed "s/^/$v r$round: /" | tee -a $R/opbench.txt
done; done
