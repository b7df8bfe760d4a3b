# Session 22 call 7 (working tree: TokenConv with Co 320 as two-tile blocks plus a one-tile launch): GPU TokenConv tests on every variant, the TokenConv op bench per variant.
source .devcarry/unpack.sh
R=$OUT/c173; mkdir -p $R; export R
build/tests/kiln_gpu_tests --gtest_filter='GpuTokenConv*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure|error" $R/tests.txt | head -20
build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*TokenConvBench*' 2>&1 | grep -E "median|FAIL|rror" | tee $R/opbench.txt
cd $OUT && tar czf c173.tgz c173 && rm -rf c173
