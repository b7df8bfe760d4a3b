# Session 30 call 8 (tests binary: fcd3215 + SequenceReduction's vectors: the first taps' copies before S1/B1's loads, the epilogue's vectors by cp.async at the start): GpuSequenceReduction*, memcheck and racecheck, the op bench twice (c283's is the same bench at fcd3215's kernel).
source .devcarry/unpack.sh
R=$OUT/c290; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 240 $T --gtest_filter='GpuSequenceReduction*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head
for i in 1 2; do timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*SequenceReductionBench*' 2>&1 | grep -E "SequenceReduction b|Failure" | tee $R/opbench_$i.txt | grep -E "own|Failure"; done
timeout 200 compute-sanitizer --tool memcheck $T --gtest_filter='GpuSequenceReduction*' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -1 $R/memcheck.txt
timeout 200 compute-sanitizer --tool racecheck $T --gtest_filter='GpuSequenceReduction.SixtyFourChannels:GpuSequenceReduction.OneTwentyEightChannels' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; tail -2 $R/racecheck.txt
