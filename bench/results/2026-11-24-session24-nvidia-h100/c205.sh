# Session 24 call 12 (tests binary of the working tree, the session's code: ResizeSumConv on wgmma, MixFFN's output LayerNorm): every GPU test (the six that need build/kiln fail here and run in the next call), then the MixFFN and ResizeSumConv op benches.
source .devcarry/unpack.sh
R=$OUT/c205; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 400 $T > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|tests ran|FAILED  \]" /tmp/gpu_tests.txt | head -12; gzip -c /tmp/gpu_tests.txt > $R/gpu_tests.txt.gz
timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' 2>&1 | grep -E "MixFFN b" | tee $R/mixffn_bench.txt
KILN_RSC_BENCH=b8p timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumConvBench*' 2>&1 | grep -E "median" | tee $R/rsc_bench.txt
