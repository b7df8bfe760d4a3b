# Session 30 call 6 (tests binary: c287 + split blocks taking the K/V panels too — the first hands them the normalized fragments over distributed shared memory — and two stages, two blocks an SM, when split): GpuReducedKeyValue*, GpuSequenceReduction*, memcheck and racecheck, the op bench.
source .devcarry/unpack.sh
R=$OUT/c288; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 240 $T --gtest_filter='GpuReducedKeyValue*:GpuSequenceReduction*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head
timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*ReducedKeyValueBench*' 2>&1 | grep -E "ReducedKeyValue b|Failure" | tee $R/opbench.txt
timeout 200 compute-sanitizer --tool memcheck $T --gtest_filter='GpuReducedKeyValue.*Split*' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -1 $R/memcheck.txt
timeout 200 compute-sanitizer --tool racecheck $T --gtest_filter='GpuReducedKeyValue.OwnSplit:GpuSequenceReduction.SixtyFourChannels' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; tail -2 $R/racecheck.txt
