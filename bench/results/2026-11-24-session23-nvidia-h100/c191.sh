# Session 23 call 5 (kiln binary of the working tree: DwConvMatMul, the widest block that fits): B2 b8 and b1 fp16 engines with and without fuse_dw_matmul (two rounds each, alternating), the profiles.
source .devcarry/unpack.sh
R=$OUT/c191; mkdir -p $R; export R
for b in 8 1; do n=seg_b2_b$b
  [ -f /tmp/$n/model.onnx ] || timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch $b --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/${n}_build.log 2>&1 || tail -3 $R/${n}_build.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_off.kiln --device cuda --fp16 --disable-pass fuse_dw_matmul > $R/${n}_off_build.log 2>&1 || tail -3 $R/${n}_off_build.log
  for round in 1 2; do for e in $n ${n}_off; do
    build/kiln bench /tmp/$e.kiln --iterations 100 --warmup 20 --json > $R/${e}_r$round.json 2>/dev/null
    python3 -c "import json;r=json.load(open('$R/${e}_r$round.json'))['rows'][0]['gpu_ms'];print('$e round $round median',r['median'])"
  done; done
  build/kiln profile /tmp/$n.kiln --iterations 10 --json > $R/profile_b$b.json 2>/dev/null; build/kiln profile /tmp/$n.kiln --iterations 10 --top 60 > $R/profile_b$b.txt 2>&1; head -1 $R/profile_b$b.txt; grep -E "DwConvMatMul|activation_fn|Add_1" $R/profile_b$b.txt | head -12
  build/kiln profile /tmp/${n}_off.kiln --iterations 10 --top 60 > $R/profile_off_b$b.txt 2>&1; head -1 $R/profile_off_b$b.txt; grep -E "stages.(2|3)/blocks.0/(mlp/activation_fn|Add_1)" $R/profile_off_b$b.txt | head -6
done
grep -i "dw_matmul\|DwConvMatMul" $R/seg_b2_b8_build.log | head -3
cd $OUT && tar czf c191.tgz c191 && rm -rf c191
