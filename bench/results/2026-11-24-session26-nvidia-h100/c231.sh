# Session 26 call 1 (tests binary of the working tree: kiln.DwConvMatMul's SS-wgmma kernel, 16 warps, cp.async halo chunks): its GPU tests, memcheck on the ragged cases, the stage-2 op bench (b8, b1).
source .devcarry/unpack.sh
R=$OUT/c231; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 200 $T --gtest_filter='GpuDwConvMatMul*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure|rel|max" $R/tests.txt | head -30
timeout 150 $T --gtest_also_run_disabled_tests --gtest_filter='*DwConvMatMulBench*' 2>&1 | grep -E "median|Failure" | tee $R/opbench.txt
timeout 200 compute-sanitizer --tool memcheck $T --gtest_filter='GpuDwConvMatMul.RaggedImages' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -4 $R/memcheck.txt
