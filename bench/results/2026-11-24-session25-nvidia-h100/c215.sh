# Session 25 call 6 (tests binary of the working tree: AttentionBlock prefetching each warpgroup's residual X rows into L2 (cp.async.bulk.prefetch.L2) at tile tiles*KILN_PF/8 of its last head; -1 off): op benches at -1/0/4/6, twice; the GpuAttentionBlock tests at 4.
source .devcarry/unpack.sh
R=$OUT/c215; mkdir -p $R
T=build/tests/kiln_gpu_tests
for rep in 1 2; do for pf in -1 0 4 6; do echo "KILN_PF=$pf"; KILN_PF=$pf timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockBench*' 2>&1 | grep -E "median|FAIL" | grep -E "Nk 1024|Nk 64 " | grep "slack 8"; done; done | tee $R/opbench.txt
KILN_PF=4 timeout 200 $T --gtest_filter='GpuAttentionBlock*' > $R/tests_pf4.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED " $R/tests_pf4.txt | head -5
