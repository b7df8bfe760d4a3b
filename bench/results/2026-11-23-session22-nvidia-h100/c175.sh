# Session 22 call 9 (c174 with the fc1 store's biases loaded before its loops again): GPU MixFFN tests, the MixFFN op bench (three runs).
source .devcarry/unpack.sh
R=$OUT/c175; mkdir -p $R; export R
build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head
for i in 1 2 3; do build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' 2>&1 | grep -E "median" | tee -a $R/opbench.txt; done
cd $OUT && tar czf c175.tgz c175 && rm -rf c175
