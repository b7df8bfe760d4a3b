# Session 16 call 6: ResizeSumConv staging by TMA + the lnpatch merge (kiln.LayerNormPatchRows): GPU tests, memcheck, racecheck, op bench, B2 b1/b8 and B0 times, B2 b8 profile.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 300 build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSum*:GpuLayerNorm*:*GpuFp16Model*:*GpuModel*:GpuAttention.Wgmma*' > $R/c96_gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/c96_gpu_tests.txt | head -12
timeout 200 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSumConv.*:GpuLayerNormPatchRows.*' > $R/c96_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c96_memcheck.txt | tail -2
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool racecheck build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSumConv.ProjectedIdentity' > $R/c96_racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "PASSED|RACECHECK SUMMARY" $R/c96_racecheck.txt | tail -2
timeout 120 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='GpuResizeSumConv.DISABLED_*Bench*' > $R/c96_op_bench.txt 2>&1; grep -iE "ms|bench" $R/c96_op_bench.txt | head -8
for cfg in "b2 1" "b2 8" "b0 1"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > /dev/null 2>&1
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/c96_${n}_build.log 2>&1 || tail -3 $R/c96_${n}_build.log
  for r in 1 2; do build/kiln bench /tmp/$n.kiln --iterations 200 --warmup 30 --json > $R/c96_${n}_r$r.bench.json 2>/dev/null; python3 -c "import json;d=json.load(open('$R/c96_${n}_r$r.bench.json'));r=d['rows'][0];print('$n r$r median',round(r['gpu_ms']['median'],4))"; done
done
build/kiln profile /tmp/seg_b2_b8.kiln --iterations 10 --top 25 > $R/c96_profile_seg_b2_b8.txt 2>&1; head -1 $R/c96_profile_seg_b2_b8.txt; grep -A12 "^by op" $R/c96_profile_seg_b2_b8.txt
build/kiln profile /tmp/seg_b2_b1.kiln --iterations 10 --top 25 > $R/c96_profile_seg_b2_b1.txt 2>&1
(cd /tmp && tar -cf $OUT/results.tar res)
