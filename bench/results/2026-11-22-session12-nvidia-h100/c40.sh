# Session 12 call 1 (3752fe0 binaries): full per-layer JSON profiles of SegFormer B2 1024² fp16 at batch 1 and 8, B0 512² b1; kiln-only times.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv > $R/gpu.txt
for cfg in "b2 1" "b2 8" "b0 1"; do set -- $cfg; v=$1; b=$2; n=seg_${v}_b$b
  timeout 200 python3 tools/export/export_segformer.py --variant $v --batch $b --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/${n}_build.log 2>&1 || tail -3 $R/${n}_build.log
  build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > $R/${n}_fp16.bench.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/${n}_fp16.bench.json'))['rows'][0]['gpu_ms'];print('$n fp16 median',r['median'],'p90',r['p90'])"
  build/kiln profile /tmp/$n.kiln --iterations 10 --json > $R/profile_${n}_fp16.json 2>$R/profile_${n}.err; build/kiln profile /tmp/$n.kiln --iterations 10 --top 60 > $R/profile_${n}_fp16.txt 2>&1; head -1 $R/profile_${n}_fp16.txt; grep -A12 "^by op" $R/profile_${n}_fp16.txt
done
(cd /tmp && tar -cf $OUT/results.tar res)
