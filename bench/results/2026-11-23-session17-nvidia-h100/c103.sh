# Session 17 call 1: every GPU test on b6256b9+ (host-side review mends); B2 b8/b1 per-layer JSON profiles; ncu full sets of two MixFFN kernels (stage 0 C=64, stage 1 C=128) at b8.
source .devcarry/unpack.sh
R=$OUT
timeout 300 build/tests/kiln_gpu_tests > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|tests ran" /tmp/gpu_tests.txt | head -12; gzip -c /tmp/gpu_tests.txt > $R/c103_gpu_tests.txt.gz
for b in 8 1; do n=seg_b2_b$b
  timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch $b --out /tmp/$n > /dev/null 2>&1
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/${n}_build.log 2>&1 || tail -3 /tmp/${n}_build.log
  build/kiln profile /tmp/$n.kiln --iterations 10 --json > $R/c103_profile_$n.json 2>/tmp/prof.err || tail -3 /tmp/prof.err
  build/kiln bench /tmp/$n.kiln --iterations 200 --warmup 30 --json > /tmp/$n.bench.json 2>/dev/null; python3 -c "import json;d=json.load(open('/tmp/$n.bench.json'));r=d['rows'][0];print('$n median',round(r['gpu_ms']['median'],4))"
done
NCU=/usr/local/cuda/bin/ncu; [ -x $NCU ] || NCU=$(which ncu)
timeout 200 $NCU --set full --import-source no -k regex:mix_ffn --launch-skip 2 -c 2 -o /tmp/mixffn build/kiln bench /tmp/seg_b2_b8.kiln --iterations 1 --warmup 0 > /tmp/ncu.log 2>&1; echo "ncu exit $?"; tail -3 /tmp/ncu.log
$NCU -i /tmp/mixffn.ncu-rep --page details > $R/c103_mixffn_details.txt 2>&1
($NCU -i /tmp/mixffn.ncu-rep --page source --csv --print-source sass 2>&1 || $NCU -i /tmp/mixffn.ncu-rep --page source --csv 2>&1) | gzip > $R/c103_mixffn_sass.csv.gz
ls -la $R
