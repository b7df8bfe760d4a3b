# Session 13 call 3 (e0e16ef + uncommitted experiment): wgmma attention, 2 warpgroups x 2 blocks/SM vs 1 warpgroup x 3 blocks/SM (KILN_WGMMA_NARROW=1); stall reasons (ncu) and SASS of the wide one.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 100 build/tests/kiln_gpu_tests --gtest_filter='GpuAttention.Wgmma*' 2>&1 | grep -E "^\[  (PASSED|FAILED)|FAILED" | head -5
KILN_WGMMA_NARROW=1 timeout 100 build/tests/kiln_gpu_tests --gtest_filter='GpuAttention.Wgmma*' 2>&1 | grep -E "^\[  (PASSED|FAILED)|FAILED" | head -5
n=seg_b2_b8; timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch 8 --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/${n}_build.log 2>&1 || tail -3 $R/${n}_build.log
for v in 0 1 0 1; do KILN_WGMMA_NARROW=$v build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > $R/c52_narrow${v}.bench.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/c52_narrow${v}.bench.json'))['rows'][0]['gpu_ms'];print('narrow $v b8 median',r['median'])"; done
for v in 0 1; do KILN_WGMMA_NARROW=$v build/kiln profile /tmp/$n.kiln --iterations 10 --top 8 > $R/c52_profile_narrow$v.txt 2>&1; grep -E "stages.0/blocks.0/attention|stages.2/blocks.0/attention|  Attention" $R/c52_profile_narrow$v.txt; done
timeout 150 ncu --kernel-name regex:attention_f16_wgmma --launch-count 1 --metrics regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,smsp__inst_executed.sum,sm__cycles_elapsed.avg,smsp__inst_executed_pipe_xu.sum build/kiln profile /tmp/$n.kiln --iterations 1 > $R/ncu_stalls.txt 2>&1; echo "ncu exit $?"; grep -E "stalled|inst_executed|cycles_elapsed" $R/ncu_stalls.txt | awk '$NF+0 > 0.05 || /inst|cycles/' | head -30
/usr/local/cuda/bin/cuobjdump -sass build/kiln 2>/dev/null | awk '/Function : .*attention_f16_wgmma/{f=1} f&&/Function : /&&!/wgmma/{f=0} f' > $R/wgmma_sass.txt; wc -l $R/wgmma_sass.txt
(cd /tmp && tar -cf $OUT/results.tar res)
