# Session 19 call 9: DwConvMatMul v4 (the conv on the CUDA cores, so that it overlaps fc2 on the tensor cores): tests, memcheck, racecheck.
source .devcarry/unpack.sh
R=$OUT/c137; mkdir -p $R
timeout 240 build/tests/kiln_gpu_tests --gtest_filter='GpuDwConvMatMul*:GpuMixFfn*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|Failure" $R/tests.txt | head -20
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuDwConvMatMul.Widths:GpuDwConvMatMul.RaggedImages' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/memcheck.txt | tail -2
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool racecheck build/tests/kiln_gpu_tests --gtest_filter='GpuDwConvMatMul.Widths' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "PASSED|RACECHECK SUMMARY" $R/racecheck.txt | tail -2
