# Session 22 call 11 (kiln binary of 78f872b): B2 b8 and b1 fp16 engines (two rounds), the profiles; B0 512² b1.
source .devcarry/unpack.sh
R=$OUT/c177; mkdir -p $R; export R
for b in 8 1; do n=seg_b2_b$b
  [ -f /tmp/$n/model.onnx ] || timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch $b --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/${n}_build.log 2>&1 || tail -3 $R/${n}_build.log
  for round in 1 2; do
    build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > $R/${n}_r$round.json 2>/dev/null
    python3 -c "import json;r=json.load(open('$R/${n}_r$round.json'))['rows'][0]['gpu_ms'];print('$n round $round median',r['median'])"
  done
  build/kiln profile /tmp/$n.kiln --iterations 10 --json > $R/profile_b$b.json 2>/dev/null; build/kiln profile /tmp/$n.kiln --iterations 10 --top 60 > $R/profile_b$b.txt 2>&1; head -1 $R/profile_b$b.txt; grep -A16 "^by op" $R/profile_b$b.txt
done
cd $OUT && tar czf c177.tgz c177 && rm -rf c177
