# Session 14 call 13 (binaries in .devcarry/commit): GpuInt8Cli (calibration and guard on the GPU), then the guarded SegFormer-B2 1024² batch 8 build again, now also calibrating on the GPU — --int8 --fp16 --device cuda, entropy calibration on 1 random batch of 8, held out 1 other random batch, budget labels:99.5 against the float graph; then bench against fp16 with accuracy on the export's golden input.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R
timeout 150 build/tests/kiln_gpu_tests --gtest_filter="GpuInt8Cli*" > $R/c72_gpu_tests.txt 2>&1; echo "int8 cli tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|guard gpu|int8 cli gpu" $R/c72_gpu_tests.txt | head -12
timeout 120 python3 tools/export/export_segformer.py --variant b2 --batch 8 --hw 1024x1024 --out /tmp/b2 > $R/c72_b2_export.log 2>&1; echo "export exit $?"
mkdir -p /tmp/calib /tmp/held && python3 -c "
import numpy as np
np.save('/tmp/calib/c0.npy', np.random.default_rng(100).standard_normal((8,3,1024,1024)).astype(np.float32))
np.save('/tmp/held/h0.npy', np.random.default_rng(200).standard_normal((8,3,1024,1024)).astype(np.float32))
np.savez('/tmp/b2_ref.npz', logits=np.load('/tmp/b2/golden/logits.npy'))"
S=$(date +%s); timeout 400 build/kiln build /tmp/b2/model.onnx -o /tmp/b2_g8.kiln --device cuda --int8 --fp16 --calib /tmp/calib --accuracy-budget labels:99.5 --ref-data /tmp/held --json > $R/c72_b2_guard_build.json 2> $R/c72_b2_guard_build.err; echo "guard build exit $? after $(( $(date +%s) - S )) s"; tail -3 $R/c72_b2_guard_build.err
python3 -c "
import json; d=json.load(open('$R/c72_b2_guard_build.json')); g=d['accuracy_guard']
print('build_seconds', d.get('build_seconds'), 'calibrated_on', d['calibration'].get('calibrated_on'), 'evaluated_on', g.get('evaluated_on'), 'layers', g['layers'], 'quantized', g['quantized'], 'evaluations', g['evaluations'], 'given_back', g['given_back'])
print('chosen', g['chosen'], 'all_int8', g['all_int8'])
for l in g['kept_float']: print('  kept', l['node'], l['op'], l['alone'])" 2>&1 | cut -c1-400
build/kiln build /tmp/b2/model.onnx -o /tmp/b2_16.kiln --device cuda --fp16 > /dev/null 2>&1
for e in b2_16 b2_g8 b2_16 b2_g8; do [ -f /tmp/$e.kiln ] && build/kiln bench /tmp/$e.kiln --input pixel_values=/tmp/b2/inputs/pixel_values.npy --ref /tmp/b2_ref.npz --iterations 50 --warmup 10 --json > $R/c72_$e.bench.json 2>$R/c72_$e.bench.err; python3 -c "
import json; r=json.load(open('$R/c72_$e.bench.json'))['rows'][0]; print('$e', 'median', r['gpu_ms']['median'], 'p90', r['gpu_ms']['p90'], {k: r.get(k) for k in ('accuracy','outputs') if k in r})" 2>&1 | cut -c1-400; done
(cd /tmp && tar -cf $OUT/results.tar res)
