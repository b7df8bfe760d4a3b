# Session 14 call 2 (25df0ac): MixFFN kernel with 16 warps at C 128 and two barriers a chunk: tests, memcheck, A/B on B2 b8/b1 (two rounds), ncu sections and stall reasons of the stage-0 (C 64) and stage-1 (C 128) launches at b8.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 150 build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn*' > $R/c61_gpu_tests.txt 2>&1; echo "mixffn tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|fp16:|Failure" $R/c61_gpu_tests.txt | head -30
timeout 120 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn.Widths:GpuMixFfn.RaggedImages' > $R/c61_memcheck.txt 2>&1; echo "memcheck exit $?"; tail -1 $R/c61_memcheck.txt
for cfg in "b2 8" "b2 1"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_mix.kiln --device cuda --fp16 > $R/c61_${n}_mix_build.log 2>&1 || tail -3 $R/c61_${n}_mix_build.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_nomix.kiln --device cuda --fp16 --disable-pass fuse_mix_ffn > $R/c61_${n}_nomix_build.log 2>&1 || tail -3 $R/c61_${n}_nomix_build.log
  for round in 1 2; do for v in mix nomix; do
    build/kiln bench /tmp/${n}_$v.kiln --iterations 100 --warmup 20 --json > $R/c61_${n}_${v}_r$round.bench.json 2>/dev/null
    python3 -c "import json;r=json.load(open('$R/c61_${n}_${v}_r$round.bench.json'))['rows'][0]['gpu_ms'];print('$n $v round $round median',round(r['median'],4),'p90',round(r['p90'],4))"
  done; done
  build/kiln profile /tmp/${n}_mix.kiln --iterations 10 --top 40 > $R/c61_profile_${n}_mix.txt 2>&1; grep MixFFN $R/c61_profile_${n}_mix.txt | head -8
done
S="--section SpeedOfLight --section WarpStateStats --section SchedulerStats --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis --section Occupancy"
M="--metrics regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,smsp__inst_executed.sum,sm__cycles_elapsed.avg,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active"
for skip in 0 3; do
  timeout 150 ncu --kernel-name regex:mix_ffn --launch-skip $skip --launch-count 1 $S $M build/kiln profile /tmp/seg_b2_b8_mix.kiln --iterations 1 > $R/c61_ncu_skip$skip.txt 2>&1; echo "ncu $skip exit $?"
  grep -E "mix_ffn|Duration|Throughput|Issue Slots|Eligible|Achieved Occupancy|Registers|hmma|inst_executed.sum|cycles_elapsed" $R/c61_ncu_skip$skip.txt | head -24
  grep -E "stalled" $R/c61_ncu_skip$skip.txt | awk '$NF+0 > 0.1' | head -14
done
(cd /tmp && tar -cf $OUT/results.tar res)
