# Session 22 call 8 (working tree: MixFFN fc1 at C = 64 as a full row tile plus half of tile 2 a warpgroup): GPU MixFFN tests, the MixFFN op bench (three runs).
source .devcarry/unpack.sh
R=$OUT/c174; mkdir -p $R; export R
build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head
for i in 1 2 3; do build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' 2>&1 | grep -E "median" | tee -a $R/opbench.txt; done
cd $OUT && tar czf c174.tgz c174 && rm -rf c174
