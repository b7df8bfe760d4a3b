# Session 30 call 1 (tests binary: fcd3215 + kiln.ReducedKeyValue, its Hopper kernel, and SequenceReduction's epilogue moved into key_value_epilogue.cuh): GpuReducedKeyValue*, GpuSequenceReduction*, memcheck and racecheck of the new kernel, the op benches.
source .devcarry/unpack.sh
R=$OUT/c283; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 240 $T --gtest_filter='GpuReducedKeyValue*:GpuSequenceReduction*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure|max|error" $R/tests.txt | head -30
timeout 120 $T --gtest_also_run_disabled_tests --gtest_filter='*ReducedKeyValueBench*:*SequenceReductionBench*' 2>&1 | grep -E "ReducedKeyValue b|SequenceReduction b.*own|Failure" | tee $R/opbench.txt
timeout 200 compute-sanitizer --tool memcheck $T --gtest_filter='GpuReducedKeyValue.OwnSplit:GpuReducedKeyValue.SplitOver*' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -1 $R/memcheck.txt
timeout 200 compute-sanitizer --tool racecheck $T --gtest_filter='GpuReducedKeyValue.OwnSplit' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; tail -2 $R/racecheck.txt
