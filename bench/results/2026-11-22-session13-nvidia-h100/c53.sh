# Session 13 call 4 (e0e16ef + uncommitted): wgmma attention with per-thread copy plans and the loop unrolled by stages; with and without skipping settled rescales (KILN_WGMMA_SKIP=1).
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
for v in 0 1; do KILN_WGMMA_SKIP=$v timeout 100 build/tests/kiln_gpu_tests --gtest_filter='GpuAttention.*' 2>&1 | grep -E "^\[  (PASSED|FAILED)|FAILED" | head -5; done
timeout 100 compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuAttention.Wgmma*' 2>&1 | grep -E "ERROR SUMMARY|PASSED|FAILED" | head -3
n=seg_b2_b8; timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch 8 --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/${n}_build.log 2>&1 || tail -3 $R/${n}_build.log
for v in 0 1 0 1; do KILN_WGMMA_SKIP=$v build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > $R/c53_skip${v}.bench.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/c53_skip${v}.bench.json'))['rows'][0]['gpu_ms'];print('skip $v b8 median',r['median'])"; done
for v in 0 1; do KILN_WGMMA_SKIP=$v build/kiln profile /tmp/$n.kiln --iterations 10 --top 8 > $R/c53_profile_skip$v.txt 2>&1; grep -E "stages.0/blocks.0/attention|  Attention" $R/c53_profile_skip$v.txt; done
timeout 150 ncu --kernel-name regex:attention_f16_wgmma --launch-count 1 --metrics smsp__inst_executed.sum,sm__cycles_elapsed.avg,regex:smsp__average_warps_issue_stalled_(barrier|wait|mio_throttle|dispatch_stall|math_pipe_throttle|long_scoreboard|short_scoreboard)_per_issue_active\.ratio build/kiln profile /tmp/$n.kiln --iterations 1 > $R/ncu_stalls.txt 2>&1; grep -E "stalled|inst_executed|cycles_elapsed" $R/ncu_stalls.txt | head -12
(cd /tmp && tar -cf $OUT/results.tar res)
