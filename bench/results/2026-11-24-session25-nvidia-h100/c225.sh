# Session 25 call 16 (tests binary of the working tree: the MixFFN wgmma kernel prefetches into L2, at three quarters of its chunks, the X halo rows of the block one resident-count later in launch order): GpuMixFfn* tests; the MixFFN op bench, prefetch on and off alternately.
source .devcarry/unpack.sh
R=$OUT/c225; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 250 $T --gtest_filter='GpuMixFfn*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED " $R/tests.txt | head -5
timeout 200 $T --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' 2>&1 | grep -E "median|FAIL" | tee $R/opbench.txt
