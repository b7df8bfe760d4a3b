# Session 13 call 6: every GPU test at the committed head; then an A/B in one call of the two new passes: default engines vs --disable-pass fuse_resize_sum_conv (the NCHW ResizeSum + Conv classifier) vs also --disable-pass fuse_patch_embed_tokens, SegFormer B2 b8 and b1 and B0, benched in alternation (two rounds).
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 200 build/tests/kiln_gpu_tests > $R/gpu_tests.txt 2>&1; echo "gpu tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/gpu_tests.txt | head -10
for cfg in "b2 8" "b2 1" "b0 1"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_all.kiln --device cuda --fp16 > $R/${n}_all_build.log 2>&1 || tail -3 $R/${n}_all_build.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_nohead.kiln --device cuda --fp16 --disable-pass fuse_resize_sum_conv > $R/${n}_nohead_build.log 2>&1 || tail -3 $R/${n}_nohead_build.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_neither.kiln --device cuda --fp16 --disable-pass fuse_resize_sum_conv --disable-pass fuse_patch_embed_tokens > $R/${n}_neither_build.log 2>&1 || tail -3 $R/${n}_neither_build.log
  for round in 1 2; do for v in all nohead neither; do
    build/kiln bench /tmp/${n}_$v.kiln --iterations 100 --warmup 20 --json > $R/c55_${n}_${v}_r$round.bench.json 2>/dev/null
    python3 -c "import json;r=json.load(open('$R/c55_${n}_${v}_r$round.bench.json'))['rows'][0]['gpu_ms'];print('$n $v round $round median',round(r['median'],4),'p90',round(r['p90'],4))"
  done; done
  build/kiln profile /tmp/${n}_all.kiln --iterations 10 --json > $R/c55_profile_${n}_all.json 2>/dev/null
  build/kiln profile /tmp/${n}_nohead.kiln --iterations 10 --json > $R/c55_profile_${n}_nohead.json 2>/dev/null
done
(cd /tmp && tar -cf $OUT/results.tar res)
