# Session 13 call 9 (06c77af): issue 9's state — SegFormer-B2 1024² batch 8, INT8 (+fp16 float parts; entropy calibration on 2 random batches, no guard) against the fp16 engine, accuracy on the held-out golden input; int8 profile.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R
timeout 120 python3 tools/export/export_segformer.py --variant b2 --batch 8 --hw 1024x1024 --out /tmp/b2 > $R/b2_export.log 2>&1; echo "export exit $?"
mkdir -p /tmp/calib && python3 -c "
import numpy as np
for i in range(2): np.save(f'/tmp/calib/c{i}.npy', np.random.default_rng(100+i).standard_normal((8,3,1024,1024)).astype(np.float32))
np.savez('/tmp/b2_ref.npz', logits=np.load('/tmp/b2/golden/logits.npy'))"
timeout 200 build/kiln build /tmp/b2/model.onnx -o /tmp/b2_i8.kiln --device cuda --int8 --fp16 --calib /tmp/calib --calib-cache /tmp/b2.calib.json --json > $R/b2_int8_fp16_build.json 2> $R/b2_int8_build.err; echo "int8 build exit $?"; tail -2 $R/b2_int8_build.err
build/kiln build /tmp/b2/model.onnx -o /tmp/b2_16.kiln --device cuda --fp16 > /dev/null 2>&1
for e in b2_16 b2_i8 b2_16 b2_i8; do [ -f /tmp/$e.kiln ] && build/kiln bench /tmp/$e.kiln --input pixel_values=/tmp/b2/inputs/pixel_values.npy --ref /tmp/b2_ref.npz --iterations 50 --warmup 10 --json > $R/$e.bench.json 2>$R/$e.bench.err; python3 -c "
import json; r=json.load(open('$R/$e.bench.json'))['rows'][0]; print('$e', 'median', r['gpu_ms']['median'], 'p90', r['gpu_ms']['p90'], {k: r.get(k) for k in ('accuracy','outputs') if k in r})" 2>&1 | cut -c1-500; done
[ -f /tmp/b2_i8.kiln ] && build/kiln profile /tmp/b2_i8.kiln --iterations 10 --top 15 > $R/profile_b2_int8.txt 2>&1; grep -A12 "^by op" $R/profile_b2_int8.txt
(cd /tmp && tar -cf $OUT/results.tar res)
