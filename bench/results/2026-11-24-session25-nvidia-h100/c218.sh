# Session 25 call 9 (tests binary of the working tree: AttentionBlock at one head with KILN_AB_STAGE=1 writes Y through shared memory (the K stages) by one bulk copy a warpgroup instead of per-thread stores): the GpuAttentionBlock tests with it; op benches with and without, twice.
source .devcarry/unpack.sh
R=$OUT/c218; mkdir -p $R
T=build/tests/kiln_gpu_tests
KILN_AB_STAGE=1 timeout 200 $T --gtest_filter='GpuAttentionBlock*' > $R/tests_stage.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED " $R/tests_stage.txt | head -5
for rep in 1 2; do for st in 0 1; do echo "KILN_AB_STAGE=$st"; KILN_AB_STAGE=$st timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockBench*' 2>&1 | grep -E "median|FAIL" | grep -E "Nk 1024|Nk 64 " | grep "slack 8"; done; done | tee $R/opbench.txt
