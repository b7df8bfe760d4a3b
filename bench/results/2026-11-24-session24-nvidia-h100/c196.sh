# Session 24 call 3 (tests binary of the working tree: the wgmma kernel rebuilt: three stages, two S accumulators, weights from shared memory, chunks unrolled): the GpuResizeSumConv tests (both kernels), memcheck and racecheck of the wgmma cases, the op bench (both kernels).
source .devcarry/unpack.sh
R=$OUT/c196; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 200 $T --gtest_filter='GpuResizeSum*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure|rel L2" $R/tests.txt | head -30
S=/usr/local/cuda/bin/compute-sanitizer
timeout 150 $S --tool memcheck $T --gtest_filter='GpuResizeSumConv.WgmmaShapes' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" $R/memcheck.txt | head -3
timeout 150 $S --tool racecheck $T --gtest_filter='GpuResizeSumConv.WgmmaShapes' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "RACECHECK SUMMARY|PASSED|FAILED" $R/racecheck.txt | head -3
timeout 150 $T --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumConvBench*' 2>&1 | grep -E "median|Failure|FAILED" | tee $R/opbench.txt
