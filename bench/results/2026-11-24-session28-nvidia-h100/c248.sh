# Session 27 call 6 (tests binary of the review mend: the kernels' tap pair shared — TapPair in resize_sum_conv_tile.cuh, ColumnTaps made of two — and the wgmma kernel's chunk bytes counted once a block): GpuResizeSum* (both kernels), memcheck, the op bench.
source .devcarry/unpack.sh
R=$OUT/c248; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 200 $T --gtest_filter='GpuResizeSum*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head -20
timeout 200 $T --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumConvBench*' 2>&1 | grep -E "median|Failure" | tee $R/opbench.txt
timeout 200 compute-sanitizer --tool memcheck $T --gtest_filter='GpuResizeSumConv.WgmmaShapes:GpuResizeSumConv.ProjectedIdentity:GpuResizeSumConv.DecodeHeadShapes' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -3 $R/memcheck.txt
