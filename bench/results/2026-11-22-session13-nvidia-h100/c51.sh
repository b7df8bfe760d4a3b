# Session 13 call 2 (70bfd25): the wgmma attention kernel with intra-warpgroup pipelining; the helper's LayerNorm row kernel — attention GPU tests, memcheck, B2 b8/b1 times and profiles; ncu on the stage-0 attention and on the ResizeSum kernel.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 120 build/tests/kiln_gpu_tests --gtest_filter='GpuAttention*:GpuModels*:GpuFp16*:GpuLayerNorm*:GpuNormSoftmax*:GpuMixed*' > $R/gpu_tests.txt 2>&1; echo "gpu tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|tests ran" $R/gpu_tests.txt | head -20
grep -B2 -A12 "Failure" $R/gpu_tests.txt | head -40
timeout 150 compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuAttention.Wgmma*:GpuLayerNorm*' > $R/memcheck_wgmma.txt 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" $R/memcheck_wgmma.txt | head -4
build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*LayerNormBench*' > $R/ln_bench.txt 2>&1; grep -v '^\[' $R/ln_bench.txt | tail -16
bash .devcarry/segbench.sh c51 "b2 8" "b2 1"
grep -E "Attention" $R/c51_profile_seg_b2_b8_fp16.txt | head -4
S="--section SpeedOfLight --section WarpStateStats --section SchedulerStats --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis --section Occupancy"
timeout 120 ncu --kernel-name regex:attention_f16_wgmma --launch-count 1 $S build/kiln profile /tmp/seg_b2_b8.kiln --iterations 1 > $R/ncu_wgmma.txt 2>&1; echo "ncu exit $?"; grep -E "Duration|Throughput|Issue Slots|Warp Cycles|No Eligible|Achieved Occupancy|L2 Hit|Registers|Stall" $R/ncu_wgmma.txt | head -30
timeout 120 ncu --kernel-name regex:resize_sum --launch-count 1 $S build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumBench*' > $R/ncu_resize_sum.txt 2>&1; echo "ncu rs exit $?"; grep -E "Duration|Throughput|Issue Slots|Warp Cycles|No Eligible|Achieved Occupancy|L2 Hit|Registers|Block Size|Grid Size" $R/ncu_resize_sum.txt | head -30
(cd /tmp && tar -cf $OUT/results.tar res)
