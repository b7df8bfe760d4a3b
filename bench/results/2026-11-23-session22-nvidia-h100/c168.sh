# Session 22 call 2 (working tree: the lazy rescale + MixFFN fc1 by row tiles at C = 128, descriptors by offset): GPU MixFFN tests and the MixFFN op bench.
source .devcarry/unpack.sh
R=$OUT/c168; mkdir -p $R; export R
build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED " $R/tests.txt | head
for i in 1 2; do build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' 2>&1 | grep -E "median" | tee -a $R/opbench.txt; done
cd $OUT && tar czf c168.tgz c168 && rm -rf c168
