# Session 25 call 5 (tests binary of main + the op benches at fewer keys): Attention and AttentionBlock op benches at Nk 1024/512/256/64 (time = fixed + per-key: how much the prologue and epilogue cost), ncu pipe utilization, scheduler and warp-state sections of both kernels (main's code).
source .devcarry/unpack.sh
R=$OUT/c214; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 150 $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionWgmmaBench*:*AttentionBlockBench*' 2>&1 | grep -E "median|FAIL" | tee $R/opbench.txt
S="--section ComputeWorkloadAnalysis --section SchedulerStats --section WarpStateStats --section InstructionStats --section SpeedOfLight --section Occupancy"
timeout 120 /usr/local/cuda/bin/ncu $S -k regex:attention_block_wgmma -c 1 $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockBench*' > $R/ncu_block_s0.txt 2>&1; echo "ncu block exit $?"
timeout 120 /usr/local/cuda/bin/ncu $S -k regex:attention_f16_wgmma -c 1 $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionWgmmaBench*' > $R/ncu_att_s2.txt 2>&1; echo "ncu att exit $?"
for f in $R/ncu_*.txt; do echo "== $f"; grep -E "Duration|Pipe|pipe|Issue Slots|Eligible|Active Warps|No Eligible|Warp Cycles Per Issued|Executed Ipc A|Registers|Achieved Occ|Tensor|Compute \(SM\)" $f | head -30; done
