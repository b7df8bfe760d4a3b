# Session 19 call 3: DwConvMatMul: B2 b8 with and without fuse_dwconv_matmul, b1; profiles (kiln binary of the same build as c130's tests).
source .devcarry/unpack.sh
R=$OUT/c131; mkdir -p $R
rc=0
if [ $rc = 0 ]; then
for bs in 8 1; do n=seg_b2_b$bs
  timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch $bs --out /tmp/$n > /dev/null 2>&1 || echo export failed
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/build_b$bs.log 2>&1 || tail -3 $R/build_b$bs.log
  [ $bs = 8 ] && { build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_off.kiln --device cuda --fp16 --disable-pass fuse_dwconv_matmul > /tmp/b.log 2>&1 || tail -3 /tmp/b.log; }
  for r in 1 2; do for e in $n ${n}_off; do [ -f /tmp/$e.kiln ] || continue; build/kiln bench /tmp/$e.kiln --iterations 100 --warmup 20 --json > /tmp/j.json 2>/dev/null; python3 -c "import json;r=json.load(open('/tmp/j.json'))['rows'][0]['gpu_ms'];print('$e r$r median',r['median'],'p90',r['p90'])" | tee -a $R/bench.txt; done; done
  build/kiln profile /tmp/$n.kiln --iterations 10 --top 60 > $R/profile_b$bs.txt 2>&1; build/kiln profile /tmp/$n.kiln --iterations 10 --json > $R/profile_b$bs.json 2>&1; head -1 $R/profile_b$bs.txt; grep -E "DwConvMatMul|MixFFN" $R/profile_b$bs.txt | head -4; grep -A14 "^by op" $R/profile_b$bs.txt
done
fi
