# Session 25 call 17 (tests binary of main at 1da9358: the L2 prefetches in AttentionBlock and MixFFN): every GPU test (the six that need build/kiln fail here and run in the next call), then the AttentionBlock prefetch and MixFFN op benches.
source .devcarry/unpack.sh
R=$OUT/c226; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 400 $T > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|tests ran|FAILED  \]" /tmp/gpu_tests.txt | head -12; gzip -c /tmp/gpu_tests.txt > $R/gpu_tests.txt.gz
timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*:*AttentionBlockPrefetchBench*' 2>&1 | grep -E "median" | tee $R/opbench.txt
