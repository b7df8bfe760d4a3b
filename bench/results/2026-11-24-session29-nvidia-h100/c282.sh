# Session 29 call 17 (tests binary: a5dafc8 + the review mend: ResizeSumConv's row stacks made by cuda::matrix_rows, host code only): GpuResizeSum* (both kernels), memcheck of them, the op bench.
source .devcarry/unpack.sh
R=$OUT/c282; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 200 $T --gtest_filter='GpuResizeSum*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head
timeout 200 compute-sanitizer --tool memcheck $T --gtest_filter='GpuResizeSumConv*' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -1 $R/memcheck.txt
timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumConvBench*' 2>&1 | grep -E "median|Failure|ms" | head -8 | tee $R/opbench.txt
