# Session 23 call 1 (tests binary with kiln.DwConvMatMul): its GPU tests, memcheck and racecheck of one case each, its op bench against the unfused pair.
source .devcarry/unpack.sh
R=$OUT/c187; mkdir -p $R
timeout 240 build/tests/kiln_gpu_tests --gtest_filter='GpuDwMatMul*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure|error" $R/tests.txt | head -20
S=/usr/local/cuda/bin/compute-sanitizer
timeout 120 $S --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuDwMatMul.Geometries' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" $R/memcheck.txt | head -3
timeout 120 $S --tool racecheck build/tests/kiln_gpu_tests --gtest_filter='GpuDwMatMul.SegFormerShapes' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "RACECHECK SUMMARY|PASSED|FAILED" $R/racecheck.txt | head -3
timeout 150 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*DwMatMulBench*' 2>&1 | grep -E "DwConvMatMul |unfused" | tee $R/opbench.txt
