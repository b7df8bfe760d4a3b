# Session 17 call 3: ncu of the wgmma MixFFN kernel (stage 0 and stage 1 at b8: details + SASS stall samples); B2 b1 with forced key splits on the stage 1/2 attention grids (temporary env hack).
source .devcarry/unpack.sh
R=$OUT
for b in 8 1; do n=seg_b2_b$b
  timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch $b --out /tmp/$n > /dev/null 2>&1
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/${n}_build.log 2>&1 || tail -3 /tmp/${n}_build.log
done
B=$R/c105_splits.txt
for cfg in "1:0:0" "2:150:170" "3:150:170" "4:150:170" "2:250:260" "2:150:260"; do
  for r in 1 2; do KILN_TMP_SPLITS=$cfg build/kiln bench /tmp/seg_b2_b1.kiln --iterations 300 --warmup 30 --json > /tmp/s.json 2>/tmp/s.err; python3 -c "import json;d=json.load(open('/tmp/s.json'));r=d['rows'][0];print('split $cfg r$r median',round(r['gpu_ms']['median'],4))" | tee -a $B; done
  sort -u /tmp/s.err | head -4 >> $B
done
NCU=/usr/local/cuda/bin/ncu
timeout 240 $NCU --set full --import-source no -k regex:mix_ffn --launch-skip 2 -c 2 -o /tmp/mixffn build/kiln bench /tmp/seg_b2_b8.kiln --iterations 1 --warmup 0 > /tmp/ncu.log 2>&1; echo "ncu exit $?"; tail -2 /tmp/ncu.log
$NCU -i /tmp/mixffn.ncu-rep --page details > $R/c105_mixffn_details.txt 2>&1
$NCU -i /tmp/mixffn.ncu-rep --page source --csv --print-source sass 2>&1 | gzip > $R/c105_mixffn_sass.csv.gz
ls -la $R
