# Session 29 call 8 (tests binary: MatMulNorm's epilogue loads four column blocks at a time, R prefetched into L2 at the start): GpuMatMulNorm*, memcheck, the op bench.
source .devcarry/unpack.sh
R=$OUT/c273; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 100 $T --gtest_filter='GpuMatMulNorm*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head
timeout 120 compute-sanitizer --tool memcheck $T --gtest_filter='GpuMatMulNorm.RaggedRows' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -1 $R/memcheck.txt
timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*MatMulNormBench*' 2>&1 | grep -E "median|Failure" | tee -a $R/opbench.txt
