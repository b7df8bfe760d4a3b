# Session 30 call 4 (build/kiln: fcd3215 + kiln.ReducedKeyValue with fuse_reduced_key_value, c285's kernel + the split sums after a block barrier): B2 b8 and b1 fp16 engines built with the pass and with --disable-pass fuse_reduced_key_value, kiln bench of each in turn (graph replay), the profiles' stage-2 key/value nodes.
source .devcarry/unpack.sh
R=$OUT/c286; mkdir -p $R
for bs in 8 1; do
n=seg_b2_b$bs
[ -f /tmp/$n/model.onnx ] || timeout 150 python3 tools/export/export_segformer.py --variant b2 --batch $bs --out /tmp/$n > /tmp/${n}_export.log 2>&1 || tail -3 /tmp/${n}_export.log
build/kiln build /tmp/$n/model.onnx -o /tmp/on$bs.kiln --device cuda --fp16 > $R/build_on_b$bs.log 2>&1 || tail -3 $R/build_on_b$bs.log
build/kiln build /tmp/$n/model.onnx -o /tmp/off$bs.kiln --device cuda --fp16 --disable-pass fuse_reduced_key_value > $R/build_off_b$bs.log 2>&1 || tail -3 $R/build_off_b$bs.log
build/kiln inspect /tmp/on$bs.kiln --fusions 2>&1 | grep -c "ReducedKeyValue" | sed "s/^/b$bs ReducedKeyValue mentions in inspect --fusions: /"
for i in 1 2; do for v in on off; do
  build/kiln bench /tmp/$v$bs.kiln --iterations 100 --warmup 20 --json > $R/bench_${v}_b${bs}_$i.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/bench_${v}_b${bs}_$i.json'))['rows'][0]['gpu_ms'];print('b$bs $v median',round(r['median'],4),'p90',round(r['p90'],4))"
done; done
for v in on off; do build/kiln profile /tmp/$v$bs.kiln --iterations 10 --top 200 > $R/profile_${v}_b$bs.txt 2>&1; head -1 $R/profile_${v}_b$bs.txt; done
grep -E "stages.2/blocks.0/" $R/profile_on_b$bs.txt | grep -E "ReducedKeyValue|LayerNorm|SequenceRed" | head -5
grep -E "stages.2/blocks.0/" $R/profile_off_b$bs.txt | grep -E "LayerNormPatchRows|LayerNorm|FusedMatMul" | head -8
done
