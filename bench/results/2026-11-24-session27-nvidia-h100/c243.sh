# Session 27 call 1 (tests binary: ResizeSumConv's wgmma kernel on 8 x 8 tiles with 2-D windows): its GPU tests, memcheck and racecheck, the op bench (b8, b1, projected or not; the mma.sync kernel beside it).
source .devcarry/unpack.sh
R=$OUT/c243; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 200 $T --gtest_filter='GpuResizeSum*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure|rel L2" $R/tests.txt | head -30
timeout 200 $T --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumConvBench*' 2>&1 | grep -E "median|Failure" | tee $R/opbench.txt
timeout 200 compute-sanitizer --tool memcheck $T --gtest_filter='GpuResizeSumConv.WgmmaShapes:GpuResizeSumConv.ProjectedIdentity' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -3 $R/memcheck.txt
timeout 200 compute-sanitizer --tool racecheck $T --gtest_filter='GpuResizeSumConv.WgmmaShapes' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "RACECHECK SUMMARY|ERROR SUMMARY" $R/racecheck.txt | head -3
