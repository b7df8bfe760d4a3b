# Session 24 call 16 (tests binary of the working tree: both ResizeSumConv kernels' column taps from one helper, resize_sum_conv_tile.cuh's ColumnTaps): GpuResizeSum* tests, the op bench (both kernels, B2's projected head and the 150-class one).
source .devcarry/unpack.sh
R=$OUT/c209; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 120 $T --gtest_filter='GpuResizeSum*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head -10
for c in b8p b8k; do KILN_RSC_BENCH=$c timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumConvBench*' 2>&1 | grep -E "median"; done | tee $R/opbench.txt
