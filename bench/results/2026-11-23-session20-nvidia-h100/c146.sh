# Session 20 call 5 (kiln binary, same code as c145): B2 b8 and b1 fp16 engines with and without fuse_patch_embed_layer_norm (two rounds each, alternating), and the b8 profile.
source .devcarry/unpack.sh
R=$OUT/c146; mkdir -p $R; export R
for b in 8 1; do n=seg_b2_b$b
  [ -f /tmp/$n/model.onnx ] || timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch $b --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/${n}_build.log 2>&1 || tail -3 $R/${n}_build.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_off.kiln --device cuda --fp16 --disable-pass fuse_patch_embed_layer_norm > $R/${n}_off_build.log 2>&1 || tail -3 $R/${n}_off_build.log
  for round in 1 2; do for e in $n ${n}_off; do
    build/kiln bench /tmp/$e.kiln --iterations 100 --warmup 20 --json > $R/${e}_r$round.json 2>/dev/null
    python3 -c "import json;r=json.load(open('$R/${e}_r$round.json'))['rows'][0]['gpu_ms'];print('$e round $round median',r['median'])"
  done; done
done
build/kiln profile /tmp/seg_b2_b8.kiln --iterations 10 --json > $R/profile_b8.json 2>/dev/null; build/kiln profile /tmp/seg_b2_b8.kiln --iterations 10 --top 60 > $R/profile_b8.txt 2>&1; head -1 $R/profile_b8.txt; grep -E "PatchEmbedTokens|LayerNormalization  |ResizeSumConv" $R/profile_b8.txt | head -5
(cd $R && tar -czf ../c146.tgz . ) && rm -rf $R && mkdir -p $R && mv $OUT/c146.tgz $R/
# c145's seven tests that need build/kiln (absent there: a fresh machine had only the tests binary)
timeout 120 build/tests/kiln_gpu_tests --gtest_filter='GpuDynamicFp16.*:GpuInt8Cli.*:GpuPlugin.*:GpuRunTask.*' > $R/rerun.txt 2>&1; echo "rerun exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/rerun.txt | head; grep -B3 "Failure" $R/rerun.txt | head -20
