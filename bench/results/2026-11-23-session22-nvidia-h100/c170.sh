# Session 22 call 4 (working tree: kiln.TokenConv's Hopper kernel, MixFFN fc1 by row tiles at C = 128): GPU TokenConv and MixFFN tests, the TokenConv and MixFFN op benches.
source .devcarry/unpack.sh
R=$OUT/c170; mkdir -p $R; export R
build/tests/kiln_gpu_tests --gtest_filter='GpuTokenConv*:GpuMixFfn*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure|error" $R/tests.txt | head -20
build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*TokenConvBench*:*MixFfnBench*' 2>&1 | grep -E "median|FAIL|rror" | tee $R/opbench.txt
build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' 2>&1 | grep -E "median" | tee -a $R/opbench.txt
cd $OUT && tar czf c170.tgz c170 && rm -rf c170
