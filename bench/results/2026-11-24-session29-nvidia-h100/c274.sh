# Session 29 call 9 (build/kiln: 94cf5cd + kiln.MatMulNorm with fuse_matmul_norm): the B2 b8 fp16 engine built with the pass and with --disable-pass fuse_matmul_norm, kiln bench of both in turn (graph replay), the profile of both.
source .devcarry/unpack.sh
R=$OUT/c274; mkdir -p $R
n=seg_b2_b8
[ -f /tmp/$n/model.onnx ] || timeout 150 python3 tools/export/export_segformer.py --variant b2 --batch 8 --out /tmp/$n > /tmp/${n}_export.log 2>&1 || tail -3 /tmp/${n}_export.log
build/kiln build /tmp/$n/model.onnx -o /tmp/on.kiln --device cuda --fp16 > $R/build_on.log 2>&1 || tail -3 $R/build_on.log
build/kiln build /tmp/$n/model.onnx -o /tmp/off.kiln --device cuda --fp16 --disable-pass fuse_matmul_norm > $R/build_off.log 2>&1 || tail -3 $R/build_off.log
build/kiln inspect /tmp/on.kiln --fusions 2>&1 | grep -i -c "matmul_norm\|MatMulNorm" | sed 's/^/MatMulNorm mentions in inspect --fusions: /'
for i in 1 2; do for v in on off; do
  build/kiln bench /tmp/$v.kiln --iterations 100 --warmup 20 --json > $R/bench_${v}_$i.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/bench_${v}_$i.json'))['rows'][0]['gpu_ms'];print('$v median',round(r['median'],4),'p90',round(r['p90'],4))"
done; done
for v in on off; do build/kiln profile /tmp/$v.kiln --iterations 10 --top 200 > $R/profile_$v.txt 2>&1; head -1 $R/profile_$v.txt; grep -A16 "^by op" $R/profile_$v.txt; done
grep -E "MatMulNorm" $R/profile_on.txt | head -20
