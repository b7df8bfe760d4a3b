# Session 31 call 4 (build/kiln and the tests binary of 807ed9b, the session's final code): every GPU test, then the B2 b8 and b1 and B0 b1 fp16 engines' kiln bench and the B2 profiles.
source .devcarry/unpack.sh
R=$OUT/c298; mkdir -p $R
ls -la build/kiln build/tests/kiln_gpu_tests build/examples/plugins/scaled_swish/
export KILN_TEST_DIR=$PWD/tests
timeout 330 build/tests/kiln_gpu_tests > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|tests ran|FAILED  \]" /tmp/gpu_tests.txt | head -12; gzip -c /tmp/gpu_tests.txt > $R/gpu_tests.txt.gz
for cfg in "b2 8" "b2 1" "b0 1"; do set -- $cfg; n=seg_$1_b$2
  [ -f /tmp/$n/model.onnx ] || timeout 100 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > /tmp/${n}_export.log 2>&1 || tail -3 /tmp/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/${n}_build.log 2>&1 || tail -3 /tmp/${n}_build.log
  build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > $R/bench_$n.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/bench_$n.json'))['rows'][0]['gpu_ms'];print('$n fp16 median',round(r['median'],4),'p90',round(r['p90'],4))"
  [ $1 = b2 ] && { build/kiln profile /tmp/$n.kiln --iterations 10 --top 200 > $R/profile_$n.txt 2>&1; head -1 $R/profile_$n.txt; }
done
