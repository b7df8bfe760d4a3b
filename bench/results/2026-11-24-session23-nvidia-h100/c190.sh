# Session 23 call 4 (tests binary: DwConvMatMul with group kk + 1's conv issued before group kk's activation, the epilogue's bias loaded with the residual): its GPU tests and op bench.
source .devcarry/unpack.sh
R=$OUT/c190; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 240 $T --gtest_filter='GpuDwMatMul*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head -20
timeout 150 $T --gtest_also_run_disabled_tests --gtest_filter='*DwMatMulBench*' 2>&1 | grep -E "DwConvMatMul |unfused" | tee $R/opbench.txt
