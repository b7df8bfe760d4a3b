# Session 25 call 10 (tests binary of the working tree: kiln.Attention's wgmma kernel as persistent blocks over (item, row tile) units, the next unit's Q and first K/V stages loaded during this one's key loop): GpuAttention* tests; Attention op bench twice.
source .devcarry/unpack.sh
R=$OUT/c219; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 250 $T --gtest_filter='GpuAttention*:GpuSegFormer*:GpuModel*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head -12
for rep in 1 2; do timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionWgmmaBench*' 2>&1 | grep -E "median|FAIL" | grep "slack 8"; done | tee $R/opbench.txt
