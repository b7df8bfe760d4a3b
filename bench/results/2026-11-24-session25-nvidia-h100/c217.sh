# Session 25 call 8 (tests binary of the working tree: AttentionBlock with its epilogue (KILN_AB_SKIP=1: no output projection, X re-read or Y write) or its LayerNorm prologue (2: no X read) or both (3) left out — timing only, wrong results): where the fixed part's time sits.
source .devcarry/unpack.sh
R=$OUT/c217; mkdir -p $R
T=build/tests/kiln_gpu_tests
for rep in 1 2; do for sk in 0 1 2 3; do echo "KILN_AB_SKIP=$sk"; KILN_AB_SKIP=$sk timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockBench*' 2>&1 | grep -E "median|FAIL" | grep -E "Nk 1024|Nk 64 " | grep "slack 8"; done; done | tee $R/opbench.txt
