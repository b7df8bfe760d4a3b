# Session 28 call 13 (tests binary: 3fc6740 + every warpgroup kernel's warpgroup index through a shuffle, wgmma::warpgroup_index — MixFFN, DwConvMatMul, AttentionBlock, Attention, TokenConv): every GPU test (the six CLI ones need build/kiln), the op benches of those kernels; c261 runs 3fc6740's binary's benches right after on the same machine.
source .devcarry/unpack.sh
R=$OUT/c260; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 300 $T > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|tests ran|FAILED  \]" /tmp/gpu_tests.txt | head -12; gzip -c /tmp/gpu_tests.txt > $R/gpu_tests.txt.gz
timeout 200 $T --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*:*DwConvMatMulBench*:*AttentionBlockBench*:*AttentionWgmmaBench*:*TokenConvBench*' 2>&1 | grep -E "median|Failure" | grep -v "slack 0 \|prefetch off" | sed "s/^/new: /" | tee -a $R/opbench.txt
