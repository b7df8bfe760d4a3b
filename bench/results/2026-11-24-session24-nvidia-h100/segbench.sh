# Export (if missing), build fp16, bench and profile SegFormer: segbench.sh TAG "b2 1" "b2 8" "b0 1" ...
TAG=$1; shift
for cfg in "$@"; do set -- $cfg; v=$1; b=$2; n=seg_${v}_b$b
  [ -f /tmp/$n/model.onnx ] || timeout 200 python3 tools/export/export_segformer.py --variant $v --batch $b --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/${TAG}_${n}_build.log 2>&1 || tail -3 $R/${TAG}_${n}_build.log
  build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > $R/${TAG}_${n}_fp16.bench.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/${TAG}_${n}_fp16.bench.json'))['rows'][0]['gpu_ms'];print('$TAG $n fp16 median',r['median'],'p90',r['p90'])"
  build/kiln profile /tmp/$n.kiln --iterations 10 --json > $R/${TAG}_profile_${n}_fp16.json 2>/dev/null; build/kiln profile /tmp/$n.kiln --iterations 10 --top 60 > $R/${TAG}_profile_${n}_fp16.txt 2>&1; head -1 $R/${TAG}_profile_${n}_fp16.txt; grep -A10 "^by op" $R/${TAG}_profile_${n}_fp16.txt
done
