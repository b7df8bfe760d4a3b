# Session 21 call 9 (tests binary: c157's code + a test hook forcing the split): the op bench at every split.
source .devcarry/unpack.sh
R=$OUT/c158; mkdir -p $R
timeout 200 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*SequenceReductionBench*' > $R/bench.txt 2>&1; echo "bench exit $?"; grep "SequenceReduction b" $R/bench.txt
