# Session 16 call 8: the merges (LayerNormPatchRows, packed K/V) on TMA attention, ResizeSumConv back on cp.async: every GPU test (log to $OUT as it runs), memcheck of the new kernels; B2 b1/b8, B0 times; B2 b8/b1 profiles.
source .devcarry/unpack.sh
R=$OUT; export R
timeout 280 build/tests/kiln_gpu_tests > $R/c98_gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/c98_gpu_tests.txt | head -12
timeout 120 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuLayerNormPatchRows.SegFormerWidthsAndPatches:GpuAttentionPackedKv.SmallGridsEveryPath:GpuResizeSum.LayoutsModesAndRatios' > $R/c98_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c98_memcheck.txt | tail -2
for cfg in "b2 1" "b2 8" "b0 1"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > /dev/null 2>&1
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/c98_${n}_build.log 2>&1 || tail -3 $R/c98_${n}_build.log
  for r in 1 2; do build/kiln bench /tmp/$n.kiln --iterations 200 --warmup 30 --json > $R/c98_${n}_r$r.bench.json 2>/dev/null; python3 -c "import json;d=json.load(open('$R/c98_${n}_r$r.bench.json'));r=d['rows'][0];print('$n r$r median',round(r['gpu_ms']['median'],4))"; done
done
build/kiln profile /tmp/seg_b2_b8.kiln --iterations 10 --top 40 > $R/c98_profile_seg_b2_b8.txt 2>&1; head -1 $R/c98_profile_seg_b2_b8.txt; grep -A12 "^by op" $R/c98_profile_seg_b2_b8.txt
build/kiln profile /tmp/seg_b2_b1.kiln --iterations 10 --top 40 > $R/c98_profile_seg_b2_b1.txt 2>&1; head -1 $R/c98_profile_seg_b2_b1.txt
