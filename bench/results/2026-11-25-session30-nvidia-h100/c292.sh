# Session 30 call 10 (tests binary of 5c3c486; build/kiln of 5c3c486 left on the machine by c291): every GPU test, then the B2 b8 and b1 fp16 engines' kiln bench and profile.
source .devcarry/unpack.sh
R=$OUT/c292; mkdir -p $R
ls -la build/kiln build/tests/kiln_gpu_tests; [ -x build/kiln ] || echo "no build/kiln: the CLI tests will fail"
export KILN_TEST_DIR=$PWD/tests
timeout 300 build/tests/kiln_gpu_tests > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|tests ran|FAILED  \]" /tmp/gpu_tests.txt | head -12; gzip -c /tmp/gpu_tests.txt > $R/gpu_tests.txt.gz
for b in 8 1; do n=seg_b2_b$b
  [ -f /tmp/$n/model.onnx ] || timeout 100 python3 tools/export/export_segformer.py --variant b2 --batch $b --out /tmp/$n > /tmp/${n}_export.log 2>&1 || tail -3 /tmp/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/${n}_build.log 2>&1 || tail -3 /tmp/${n}_build.log
  build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > $R/bench_$n.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/bench_$n.json'))['rows'][0]['gpu_ms'];print('$n fp16 median',round(r['median'],4),'p90',round(r['p90'],4))"
  build/kiln profile /tmp/$n.kiln --iterations 10 --top 200 > $R/profile_$n.txt 2>&1; head -1 $R/profile_$n.txt
done
