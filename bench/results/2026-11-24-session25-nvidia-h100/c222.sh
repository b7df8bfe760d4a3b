# Session 25 call 13 (tests binary of the working tree: AttentionBlock's warpgroups prefetch into L2, three quarters through the last head's keys, their half of the X rows of the block one resident-count later in launch order): GpuAttention* tests; AttentionBlock op bench twice.
source .devcarry/unpack.sh
R=$OUT/c222; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 200 $T --gtest_filter='GpuAttention*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED " $R/tests.txt | head -5
for rep in 1 2; do timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockBench*' 2>&1 | grep -E "median|FAIL" | grep -E "Nk 1024" | grep "slack 8"; done | tee $R/opbench.txt
