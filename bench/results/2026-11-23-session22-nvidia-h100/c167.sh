# Session 22 call 1 (working tree on 10a947b + the lazy rescale): GPU attention tests, the AttentionBlock and Attention op benches at slack 8 and 0, (the engines in c168: one binary a call).
source .devcarry/unpack.sh
R=$OUT/c167; mkdir -p $R; export R
build/tests/kiln_gpu_tests --gtest_filter='GpuAttention*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED " $R/tests.txt | head
build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockBench*:*AttentionWgmmaBench*' 2>&1 | grep -E "median" | tee $R/opbench.txt
cd $OUT && tar czf c167.tgz c167 && rm -rf c167
