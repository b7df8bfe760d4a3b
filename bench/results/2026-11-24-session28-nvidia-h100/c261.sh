# Session 28 call 14 (3fc6740 tests binary, on c260's machine while it is warm): the op benches of c260, its A side.
source .devcarry/unpack.sh
R=$OUT/c261; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 200 $T --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*:*DwConvMatMulBench*:*AttentionBlockBench*:*AttentionWgmmaBench*:*TokenConvBench*' 2>&1 | grep -E "median|Failure" | grep -v "slack 0 \|prefetch off" | sed "s/^/head: /" | tee -a $R/opbench.txt
