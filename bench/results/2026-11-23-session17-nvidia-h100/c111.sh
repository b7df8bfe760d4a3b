# Session 17 call 9 (binaries of c789cd1): every GPU test; B0 b1 and B2 b1/b8 kiln bench; B2 b8 profile (the ten-layer table).
source .devcarry/unpack.sh
R=$OUT
timeout 300 build/tests/kiln_gpu_tests > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" /tmp/gpu_tests.txt | head -12; gzip -c /tmp/gpu_tests.txt > $R/c111_gpu_tests.txt.gz
B=$R/c111_bench.txt
for cfg in "b0 1" "b2 1" "b2 8"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > /dev/null 2>&1
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/${n}_build.log 2>&1 || tail -3 /tmp/${n}_build.log
  for r in 1 2; do build/kiln bench /tmp/$n.kiln --iterations 200 --warmup 30 --json > /tmp/${n}_r$r.json 2>/dev/null; python3 -c "import json;d=json.load(open('/tmp/${n}_r$r.json'));r=d['rows'][0];print('$n r$r median',round(r['gpu_ms']['median'],4))" | tee -a $B; done
done
build/kiln profile /tmp/seg_b2_b8.kiln --iterations 10 --top 12 > $R/c111_profile_seg_b2_b8.txt 2>&1; head -14 $R/c111_profile_seg_b2_b8.txt; grep -A10 "^by op" $R/c111_profile_seg_b2_b8.txt
build/kiln profile /tmp/seg_b2_b8.kiln --iterations 10 --json > $R/c111_profile_seg_b2_b8.json 2>/dev/null
