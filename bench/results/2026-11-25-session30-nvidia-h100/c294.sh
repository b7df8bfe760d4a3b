# Session 30 call 12 (tests binary: 2328c11 + c289_reduced_key_value.patch (less its SequenceReduction refactor) + unsplit blocks in pairs sharing W's copies by TMA multicast): GpuReducedKeyValue*, memcheck and racecheck of the paired blocks, the op bench.
source .devcarry/unpack.sh
R=$OUT/c294; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 240 $T --gtest_filter='GpuReducedKeyValue*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head
timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*ReducedKeyValueBench*' 2>&1 | grep -E "ReducedKeyValue b|Failure" | tee $R/opbench.txt
timeout 200 compute-sanitizer --tool memcheck $T --gtest_filter='GpuReducedKeyValue.PairedBlocks' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -1 $R/memcheck.txt
timeout 200 compute-sanitizer --tool racecheck $T --gtest_filter='GpuReducedKeyValue.PairedBlocks' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; tail -2 $R/racecheck.txt
