# Session 10 call 7 (6f6873f, final Mask2Former code): Swin-T 800x1216 static fp16/fp32 vs goldens, labels, PyTorch peers in the same call; R50 static; Swin-T and R50 dynamic fp16+fp32 at 4 sizes with labels; batch 2.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R
timeout 240 python3 tools/export/export_mask2former.py --variant swin-t --hw 800x1216 --dynamic --also 512x512 --also 1344x1344 --also 640x1024 --fp16-reference --out /tmp/m2f > $R/swin_export.log 2>&1; echo "swin export exit $?"
S="--shape pixel_values=1x3x800x1216"
bash tests/gpu/exported_model_check.sh build/kiln /tmp/m2f /tmp/m2fo fp16 fp32 -- $S | tee $R/swin_800x1216_static_check.txt
for f in /tmp/m2fo/*.bench.json; do cp $f $R/swin_800x1216_static_$(basename $f); done
python3 tests/gpu/mask2former_agreement.py /tmp/m2f kiln_fp16=/tmp/m2fo/fp16.out kiln_fp32=/tmp/m2fo/fp32.out torch_fp16=/tmp/m2f/golden_fp16 2>&1 | grep -v Warn | tee $R/swin_800x1216_agreement.txt
echo "== PyTorch peers"; timeout 300 python3 bench/torch_mask2former.py --variant swin-t --hw 800x1216 --out $R/torch_mask2former_800x1216.json 2>&1 | grep -v Warning | tail -4
build/kiln build /tmp/m2f/model.onnx -o /tmp/m16.kiln --device cuda --fp16 $S > /dev/null && build/kiln bench /tmp/m16.kiln --input pixel_values=/tmp/m2f/inputs/pixel_values.npy --iterations 100 --warmup 20 --json > $R/swin_800x1216_fp16_after_peers.bench.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/swin_800x1216_fp16_after_peers.bench.json'))['rows'][0]['gpu_ms'];print('kiln fp16 again after the peers: median',r['median'],'p90',r['p90'])"
B="--min pixel_values=1x3x512x512 --opt pixel_values=1x3x800x1216 --max pixel_values=1x3x1344x1344"
bash tests/gpu/dynamic_model_check.sh build/kiln /tmp/m2f /tmp/m2fd fp16 fp32 -- $B 2>&1 | tee $R/swin_dyn_check.txt
for d in /tmp/m2f /tmp/m2f/also/*; do s=$([ $d = /tmp/m2f ] && echo export || basename $d)
  python3 tests/gpu/mask2former_agreement.py $d kiln_fp16=/tmp/m2fd/fp16_$s.out kiln_fp32=/tmp/m2fd/fp32_$s.out 2>&1 | grep -v Warn | sed "s/^/$s /" | tee -a $R/swin_dyn_agreement.txt; done
(cd /tmp && tar -cf $OUT/results.tar res)
