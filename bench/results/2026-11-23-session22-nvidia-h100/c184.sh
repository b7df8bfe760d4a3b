# Session 22 call 18 (tests binary of the conv_rows commit): every GPU test (the six that need build/kiln run again in c185), memcheck and racecheck of the MixFFN tests.
source .devcarry/unpack.sh
R=$OUT/c184; mkdir -p $R
timeout 400 build/tests/kiln_gpu_tests > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|tests ran" /tmp/gpu_tests.txt | head -3; gzip -c /tmp/gpu_tests.txt > $R/gpu_tests.txt.gz
S=/usr/local/cuda/bin/compute-sanitizer
timeout 150 $S --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn.Widths:GpuMixFfn.RaggedImages' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" $R/memcheck.txt | head -3
timeout 150 $S --tool racecheck build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn.Widths' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "RACECHECK SUMMARY|PASSED|FAILED" $R/racecheck.txt | head -3
