# Session 25 call 7 (tests binary of the working tree: AttentionBlock as persistent blocks over (item, row tile) units when KILN_STAGGER >= 0, the grid's second half starting KILN_STAGGER ns late; -1: one unit a block as main): op benches at -1/0/6000/12000/25000/50000; the GpuAttentionBlock tests at 12000.
source .devcarry/unpack.sh
R=$OUT/c216; mkdir -p $R
T=build/tests/kiln_gpu_tests
for rep in 1 2; do for st in -1 0 6000 12000 25000 50000; do echo "KILN_STAGGER=$st"; KILN_STAGGER=$st timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockBench*' 2>&1 | grep -E "median|FAIL" | grep -E "Nk 1024" | grep "slack 8"; done; done | tee $R/opbench.txt
KILN_STAGGER=12000 timeout 200 $T --gtest_filter='GpuAttentionBlock*' > $R/tests_st.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED " $R/tests_st.txt | head -5
