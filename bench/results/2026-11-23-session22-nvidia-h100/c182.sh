# Session 22 call 16 (a9b0190 + the depthwise conv's output rows in pairs sharing their input rows' ldmatrix loads): GPU MixFFN tests, the MixFFN op bench (three runs).
source .devcarry/unpack.sh
R=$OUT/c182; mkdir -p $R; export R
build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head
for i in 1 2 3; do build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' 2>&1 | grep -E "median" | tee -a $R/opbench.txt; done
