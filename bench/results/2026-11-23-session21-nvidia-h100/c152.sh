# Session 21 call 3 (tests binary: + taps split over clusters, tree sums): its GPU tests, memcheck, the op bench.
source .devcarry/unpack.sh
R=$OUT/c152; mkdir -p $R
timeout 120 build/tests/kiln_gpu_tests --gtest_filter='GpuSequenceReduction.*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/tests.txt | head
grep -B3 -A12 "Failure" $R/tests.txt | head -50
timeout 100 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*SequenceReductionBench*' > $R/bench.txt 2>&1; echo "bench exit $?"; grep "SequenceReduction b" $R/bench.txt
timeout 120 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuSequenceReduction.*' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -1 $R/memcheck.txt
timeout 120 /usr/local/cuda/bin/compute-sanitizer --tool racecheck build/tests/kiln_gpu_tests --gtest_filter="GpuSequenceReduction.SixtyFour*" > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; tail -1 $R/racecheck.txt
