# Session 26 call 8 (tests binary: DwConvMatMul without the L2 prefetch of X): its GPU tests, memcheck on the ragged cases, the stage-2 op bench (b8, b1).
source .devcarry/unpack.sh
R=$OUT/c238; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 200 $T --gtest_filter='GpuDwConvMatMul*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure|rel|max" $R/tests.txt | head -30
timeout 150 $T --gtest_also_run_disabled_tests --gtest_filter='*DwConvMatMulBench*' 2>&1 | grep -E "median|Failure" | tee $R/opbench.txt
timeout 200 compute-sanitizer --tool memcheck $T --gtest_filter='GpuDwConvMatMul.RaggedImages' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -4 $R/memcheck.txt
timeout 200 compute-sanitizer --tool racecheck $T --gtest_filter='GpuDwConvMatMul.Widths' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "RACECHECK SUMMARY|ERROR SUMMARY" $R/racecheck.txt | head -3
timeout 200 compute-sanitizer --tool synccheck $T --gtest_filter='GpuDwConvMatMul.Widths' > $R/synccheck.txt 2>&1; echo "synccheck exit $?"; grep -E "ERROR SUMMARY" $R/synccheck.txt | head -3
