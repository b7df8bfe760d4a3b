# Session 21 call 1 (tests binary: 837ce94 + Q's fragments in registers for Q Kᵀ): attention tests, the AttentionBlock op bench.
source .devcarry/unpack.sh
R=$OUT/c150; mkdir -p $R
timeout 240 build/tests/kiln_gpu_tests --gtest_filter='GpuAttention*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/tests.txt | head
timeout 100 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockBench*' > $R/bench.txt 2>&1; echo "bench exit $?"; grep "AttentionBlock b" $R/bench.txt
