# Session 22 call 17 (c182 with all of a warp's output rows together: 4 at C = 64, 2 at C = 128): GPU MixFFN tests, the MixFFN op bench (three runs).
source .devcarry/unpack.sh
R=$OUT/c183; mkdir -p $R; export R
build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head
for i in 1 2 3; do build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' 2>&1 | grep -E "median" | tee -a $R/opbench.txt; done
