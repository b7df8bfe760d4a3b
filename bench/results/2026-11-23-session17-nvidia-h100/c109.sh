# Session 17 call 7: float2 partial stores; B2 b1 with the stage-3 attention (64 blocks) split 1/2/4/8 (temporary env), GpuAttention* tests, ncu time of the stage-3 kernels.
source .devcarry/unpack.sh
R=$OUT; B=$R/c109_splits.txt; n=seg_b2_b1
timeout 200 build/tests/kiln_gpu_tests --gtest_filter='GpuAttention*' > /tmp/t.txt 2>&1; echo "attention tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" /tmp/t.txt | head
timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch 1 --out /tmp/$n > /dev/null 2>&1
build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/b.log 2>&1 || tail -3 /tmp/b.log
for cfg in "0:0:0" "1:60:70" "2:60:70" "8:60:70" "0:0:0" "2:60:70"; do
  for r in 1 2; do KILN_TMP_SPLITS=$cfg build/kiln bench /tmp/$n.kiln --iterations 300 --warmup 30 --json > /tmp/s.json 2>/dev/null; python3 -c "import json;d=json.load(open('/tmp/s.json'));r=d['rows'][0];print('split $cfg r$r median',round(r['gpu_ms']['median'],4))" | tee -a $B; done
done
NCU=/usr/local/cuda/bin/ncu
for cfg in "0:0:0" "2:60:70"; do
KILN_TMP_SPLITS=$cfg timeout 100 $NCU --metrics gpu__time_duration.sum --cache-control none --clock-control none --csv --print-units base -k regex:"attention|combine" build/kiln bench /tmp/$n.kiln --iterations 1 --warmup 0 2>/dev/null | grep '^"' | python3 -c "
import csv,sys
rows=list(csv.reader(sys.stdin)); h=rows[0]; ix={n:i for i,n in enumerate(h)}
for r in rows[1:]: print('$cfg', r[ix['Kernel Name']][:40], r[ix['Grid Size']], r[ix['Metric Value']])" | tail -8 | tee -a $B
done
