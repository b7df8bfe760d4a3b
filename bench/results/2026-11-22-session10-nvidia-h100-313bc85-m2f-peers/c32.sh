# Session 10 call 10 (313bc85 binaries): Mask2Former Swin-T 800x1216 peers on SDPA attention (bench/torch_mask2former.py --attn sdpa) with kiln fp16 in the same call.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R
timeout 150 python3 tools/export/export_mask2former.py --variant swin-t --hw 800x1216 --out /tmp/m2f > $R/export.log 2>&1; echo "export exit $?"
build/kiln build /tmp/m2f/model.onnx -o /tmp/m16.kiln --device cuda --fp16 > /dev/null 2>&1
build/kiln bench /tmp/m16.kiln --input pixel_values=/tmp/m2f/inputs/pixel_values.npy --iterations 100 --warmup 20 --json > $R/kiln_fp16_before.bench.json 2>/dev/null
timeout 280 python3 bench/torch_mask2former.py --variant swin-t --hw 800x1216 --attn sdpa --out $R/torch_mask2former_sdpa_800x1216.json 2>&1 | grep -v Warning | tail -5
build/kiln bench /tmp/m16.kiln --input pixel_values=/tmp/m2f/inputs/pixel_values.npy --iterations 100 --warmup 20 --json > $R/kiln_fp16_after.bench.json 2>/dev/null
for f in before after; do python3 -c "import json;r=json.load(open('$R/kiln_fp16_$f.bench.json'))['rows'][0]['gpu_ms'];print('kiln fp16 $f the peers: median',r['median'],'p90',r['p90'])"; done
python3 -c "import json;print('attn:', json.load(open('$R/torch_mask2former_sdpa_800x1216.json')).get('attn_implementation'))"
(cd /tmp && tar -cf $OUT/results.tar res)
