# Session 15 call 7 (binaries of the final code: the review mend's shared run_cpu_reference and taps_copy): ResizeSum, ResizeSumConv and MixFFN GPU tests; the decode-head op benches; B2 b1/b8 and B0 times and profiles; ncu of the final ResizeSumConv at b8.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 200 build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSum*:GpuMixFfn*' > $R/c86_gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|fp16:" $R/c86_gpu_tests.txt | head -10
timeout 240 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumConvBench*' > $R/c86_op_bench.txt 2>&1; echo "op bench exit $?"; grep -E "median|FAILED" $R/c86_op_bench.txt
for cfg in "b2 8" "b2 1" "b0 1"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/${n}.kiln --device cuda --fp16 > $R/c86_${n}_build.log 2>&1 || tail -3 $R/c86_${n}_build.log
  for round in 1 2; do build/kiln bench /tmp/${n}.kiln --iterations 100 --warmup 20 --json > $R/c86_${n}_r$round.bench.json 2>/dev/null
    python3 -c "import json;r=json.load(open('$R/c86_${n}_r$round.bench.json'))['rows'][0]['gpu_ms'];print('$n round $round median',round(r['median'],4),'p90',round(r['p90'],4))"; done
  build/kiln profile /tmp/${n}.kiln --iterations 10 --top 40 > $R/c86_profile_${n}.txt 2>&1; head -1 $R/c86_profile_${n}.txt; grep -E "ResizeSumConv" $R/c86_profile_${n}.txt | head -2
  build/kiln profile /tmp/${n}.kiln --iterations 10 --json > $R/c86_profile_${n}.json 2>/dev/null
done
S="--section SpeedOfLight --section WarpStateStats --section SchedulerStats --section Occupancy "
M="--metrics regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,smsp__inst_executed.sum,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active"
timeout 120 ncu --kernel-name regex:resize_sum_conv --launch-skip 0 --launch-count 1 $S $M build/kiln profile /tmp/seg_b2_b8.kiln --iterations 1 > $R/c86_ncu.txt 2>&1; echo "ncu exit $?"
grep -E "Duration|DRAM Throughput|Issue Slots|Eligible Warps|Achieved Occupancy|hmma|inst_executed.sum" $R/c86_ncu.txt | head -10
rm -f $R/*export.log
(cd /tmp && tar -cf $OUT/results.tar res)
