# Session 25 call 4 (tests binary of the working tree): softmax variants of the flash loop (0 as main, 1 the row halves interleaved, 2 one column pair of 8 by exp2_poly, 3 both, 5 interleaved with two pairs by exp2_poly): Attention and AttentionBlock op benches; the GpuAttention* tests under variants 1 and 3.
source .devcarry/unpack.sh
R=$OUT/c213; mkdir -p $R
T=build/tests/kiln_gpu_tests
for rep in 1 2; do timeout 150 $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionWgmmaBench*:*AttentionBlockBench*' 2>&1 | grep -E "median|FAIL"; done | tee $R/opbench.txt
for v in 1 3; do KILN_ATTN_VARIANT=$v timeout 200 $T --gtest_filter='GpuAttention*' > $R/tests_v$v.txt 2>&1; echo "variant $v tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED " $R/tests_v$v.txt | head -5; done
