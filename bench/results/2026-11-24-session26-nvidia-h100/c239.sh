# Session 26 call 9 (kiln binary of the working tree: DwConvMatMul without X's L2 prefetch): the B2 b8 fp16 engine with fuse_dwconv_matmul and with --disable-pass fuse_dwconv_matmul, alternately, three rounds (kiln bench, 100 iterations); the profiles of both; b1 (32 tiles: the pass does not fire) both once.
source .devcarry/unpack.sh
R=$OUT/c239; mkdir -p $R
for b in 8 1; do n=seg_b2_b$b
  [ -f /tmp/$n/model.onnx ] || timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch $b --out /tmp/$n > /tmp/${n}_export.log 2>&1 || tail -3 /tmp/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/${n}_build.log 2>&1 || tail -3 /tmp/${n}_build.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_off.kiln --device cuda --fp16 --disable-pass fuse_dwconv_matmul > /tmp/${n}_off_build.log 2>&1 || tail -3 /tmp/${n}_off_build.log
  rounds="1 2 3"; [ $b = 1 ] && rounds=1
  for round in $rounds; do for mode in on off; do
    f=/tmp/$n.kiln; [ $mode = off ] && f=/tmp/${n}_off.kiln
    build/kiln bench $f --iterations 100 --warmup 20 --json > /tmp/${n}_${mode}_$round.json 2>/dev/null
    python3 -c "import json;r=json.load(open('/tmp/${n}_${mode}_$round.json'))['rows'][0]['gpu_ms'];print('$n fuse_dwconv_matmul $mode round $round median',round(r['median'],4),'p90',round(r['p90'],4))"
  done; done
  echo "$n: $(build/kiln inspect /tmp/$n.kiln --fusions 2>&1 | grep -c DwConvMatMul) DwConvMatMul lines in inspect --fusions"
  [ $b = 8 ] && for mode in on off; do f=/tmp/$n.kiln; [ $mode = off ] && f=/tmp/${n}_off.kiln
    build/kiln profile $f --iterations 10 --top 60 > $R/profile_${n}_$mode.txt 2>&1; done
done | tee $R/ab.txt
grep -E "DwConvMatMul" $R/profile_seg_b2_b8_on.txt | head -3
