# Session 25 call 15 (tests binary of the working tree, the prefetch now switchable for tests): AttentionBlock's L2 prefetch of the next block's X rows on and off alternately, B2 stages 0 and 1 at b8 and b1; GpuAttentionBlock tests.
source .devcarry/unpack.sh
R=$OUT/c224; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 200 $T --gtest_filter='GpuAttentionBlock*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED " $R/tests.txt | head -5
timeout 200 $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockPrefetchBench*' 2>&1 | grep -E "median|FAIL" | tee $R/opbench.txt
