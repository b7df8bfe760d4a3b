# Session 25 call 1 (tests binary of the working tree: exp2_poly for kPoly of 8 column pairs in the flash loop's softmax): Attention and AttentionBlock op benches at poly 0-4, ncu pipe metrics at poly 0 and 2.
source .devcarry/unpack.sh
R=$OUT/c210; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 150 $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionWgmmaBench*:*AttentionBlockBench*' 2>&1 | grep -E "median|FAIL" | tee $R/opbench.txt
M=sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active,sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active,sm__pipe_alu_cycles_active.avg.pct_of_peak_sustained_active,sm__pipe_fmaheavy_cycles_active.avg.pct_of_peak_sustained_active,sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_xu.sum,sm__inst_executed_pipe_fma.sum,sm__inst_executed_pipe_alu.sum,sm__inst_executed.sum,sm__issue_active.avg.pct_of_peak_sustained_active,gpu__time_duration.sum
for k in 0 2; do
timeout 100 /usr/local/cuda/bin/ncu --kernel-name-base demangled -k "regex:attention_f16_wgmma<$k>" -c 1 --metrics $M $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionWgmmaBench*' > $R/ncu_att_poly$k.txt 2>&1; echo "ncu $k exit $?"
grep -E "pipe|issue|duration|inst_executed" $R/ncu_att_poly$k.txt | head -14
done
