# Session 29 call 11 (tests binary: fa84d04 + the MatMulNorm patch, N = 320 taking R by TMA into shared memory during the GEMM, one block an SM): GpuMatMulNorm*, memcheck, racecheck, the op bench.
source .devcarry/unpack.sh
R=$OUT/c276; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 100 $T --gtest_filter='GpuMatMulNorm*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head
timeout 120 compute-sanitizer --tool memcheck $T --gtest_filter='GpuMatMulNorm.RaggedRows' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -1 $R/memcheck.txt
timeout 120 compute-sanitizer --tool racecheck $T --gtest_filter="GpuMatMulNorm.RaggedRows" > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "RACECHECK SUMMARY" $R/racecheck.txt
timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*MatMulNormBench*' 2>&1 | grep -E "median|Failure" | tee -a $R/opbench.txt
