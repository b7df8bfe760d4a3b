# Session 20 call 2 (tests binary): ResizeSumConv's conv straight from the sum's registers (nt <= 2):
# every GpuResizeSum* test, memcheck and racecheck on the conv tests, then the op bench (b1, b8).
source .devcarry/unpack.sh
R=$OUT/c143; mkdir -p $R
timeout 200 build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSum*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/tests.txt | head
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSumConv.*' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -2 $R/memcheck.txt
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool racecheck build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSumConv.*' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; tail -2 $R/racecheck.txt
timeout 200 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumConvBench*' > $R/bench.txt 2>&1; echo "bench exit $?"; grep -E "median|OK|FAILED" $R/bench.txt
