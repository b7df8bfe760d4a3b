# Session 22 call 14 (tests binary of the review mend): the op benches through profile_one_node (AttentionBlock, Attention, MixFFN, SequenceReduction, TokenConv), and the tests of the files it touched.
source .devcarry/unpack.sh
R=$OUT/c180; mkdir -p $R
build/tests/kiln_gpu_tests --gtest_filter='GpuTokenConv*:GpuPatchEmbed*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED " $R/tests.txt | head
timeout 300 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockBench*:*AttentionWgmmaBench*:*MixFfnBench*:*SequenceReductionBench*:*TokenConvBench*' 2>&1 | grep -E "median|FAIL" | tee $R/opbench.txt | grep -E "FAIL|variant 0|slack 8|MixFFN|splits own"
