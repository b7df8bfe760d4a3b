# Session 25 call 12 (tests binary of the working tree: AttentionBlock warpgroups prefetch into L2, at tile tiles*KILN_PF/8 of the key loop, their half of the X rows of the block KILN_AHEAD blocks later in launch order, for its LayerNorm): op benches at PF -1/0/4 x AHEAD 264/396, twice; GpuAttentionBlock tests at PF 4.
source .devcarry/unpack.sh
R=$OUT/c221; mkdir -p $R
T=build/tests/kiln_gpu_tests
for rep in 1 2; do for cfg in "-1 264" "0 264" "4 264" "0 396" "4 396" "6 264"; do set -- $cfg; echo "KILN_PF=$1 KILN_AHEAD=$2"; KILN_PF=$1 KILN_AHEAD=$2 timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockBench*' 2>&1 | grep -E "median|FAIL" | grep -E "Nk 1024" | grep "slack 8"; done; done | tee $R/opbench.txt
KILN_PF=4 timeout 200 $T --gtest_filter='GpuAttentionBlock*' > $R/tests_pf.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED " $R/tests_pf.txt | head -5
