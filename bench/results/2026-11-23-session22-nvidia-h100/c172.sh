# Session 22 call 6 (working tree: TokenConv's three variants and their test hook): GPU TokenConv tests on every variant, the TokenConv op bench per variant.
source .devcarry/unpack.sh
R=$OUT/c172; mkdir -p $R; export R
build/tests/kiln_gpu_tests --gtest_filter='GpuTokenConv*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure|error" $R/tests.txt | head -20
build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*TokenConvBench*' 2>&1 | grep -E "median|FAIL|rror" | tee $R/opbench.txt
cd $OUT && tar czf c172.tgz c172 && rm -rf c172
