# Session 17 call 5: cuBLASLt candidates timed per GEMM at build (8 today) vs 16/32/64 (temporary env): build time, B2 b1/b8 medians, FusedMatMul totals.
source .devcarry/unpack.sh
R=$OUT; B=$R/c107_candidates.txt
for b in 1 8; do n=seg_b2_b$b
  timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch $b --out /tmp/$n > /dev/null 2>&1
  for c in 8 32 64 8; do
    s=$(date +%s.%N); KILN_TMP_CANDIDATES=$c build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_c$c.kiln --device cuda --fp16 > /tmp/b.log 2>&1 || tail -3 /tmp/b.log; e=$(date +%s.%N)
    echo "$n cand $c build $(python3 -c "print(round($e-$s,1))") s" | tee -a $B
    for r in 1 2; do build/kiln bench /tmp/${n}_c$c.kiln --iterations 200 --warmup 30 --json > /tmp/s.json 2>/dev/null; python3 -c "import json;d=json.load(open('/tmp/s.json'));r=d['rows'][0];print('$n cand $c r$r median',round(r['gpu_ms']['median'],4))" | tee -a $B; done
    build/kiln profile /tmp/${n}_c$c.kiln --iterations 10 --json > /tmp/p.json 2>/dev/null; python3 -c "import json;d=json.load(open('/tmp/p.json'));print('  FusedMatMul',round(d['by_op']['FusedMatMul']['ms'],4))" | tee -a $B
  done
done
