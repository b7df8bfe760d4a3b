# Session 15 call 8 (see commit): ResizeSumConv absorbing stage 0's decode-head projection (the FusedMatMul feeding its identity input): tests, memcheck, op benches, B2 b8/b1 and B0 times (with and without fuse_resize_sum_conv), profiles, ncu.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 200 build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSum*' > $R/c87_gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|fp16:|Failure" $R/c87_gpu_tests.txt | head -20
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSumConv.ProjectedIdentity:GpuResizeSumConv.DecodeHeadShapes:GpuResizeSumConv.InputPathsAndManyTiles' > $R/c87_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c87_memcheck.txt | tail -2
timeout 240 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumConvBench*' > $R/c87_op_bench.txt 2>&1; echo "op bench exit $?"; grep -E "median|FAILED" $R/c87_op_bench.txt
for cfg in "b2 8" "b2 1" "b0 1"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_rsc.kiln --device cuda --fp16 > $R/c87_${n}_rsc_build.log 2>&1 || tail -3 $R/c87_${n}_rsc_build.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_norsc.kiln --device cuda --fp16 --disable-pass fuse_resize_sum_conv > $R/c87_${n}_norsc_build.log 2>&1 || tail -3 $R/c87_${n}_norsc_build.log
  for round in 1 2; do for v in rsc norsc; do
    build/kiln bench /tmp/${n}_$v.kiln --iterations 100 --warmup 20 --json > $R/c87_${n}_${v}_r$round.bench.json 2>/dev/null
    python3 -c "import json;r=json.load(open('$R/c87_${n}_${v}_r$round.bench.json'))['rows'][0]['gpu_ms'];print('$n $v round $round median',round(r['median'],4),'p90',round(r['p90'],4))"
  done; done
  build/kiln profile /tmp/${n}_rsc.kiln --iterations 10 --top 40 > $R/c87_profile_${n}_rsc.txt 2>&1; head -1 $R/c87_profile_${n}_rsc.txt; grep -E "ResizeSumConv|branch3" $R/c87_profile_${n}_rsc.txt | head -3
done
S="--section SpeedOfLight --section WarpStateStats --section SchedulerStats --section Occupancy "
M="--metrics regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,smsp__inst_executed.sum,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active"
timeout 120 ncu --kernel-name regex:resize_sum_conv --launch-skip 0 --launch-count 1 $S $M build/kiln profile /tmp/seg_b2_b8_rsc.kiln --iterations 1 > $R/c87_ncu.txt 2>&1; echo "ncu exit $?"
grep -E "Duration|DRAM Throughput|Eligible Warps|Achieved Occupancy|hmma|inst_executed.sum" $R/c87_ncu.txt | head -10
rm -f $R/*export.log
(cd /tmp && tar -cf $OUT/results.tar res)
