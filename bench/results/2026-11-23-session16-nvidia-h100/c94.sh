# Session 16 call 4: side stream A/B in one call (KILN_SIDE_MIN_SPAN experiment: 100000 = no side chains, 30 = only long-span chains, 0 = all); bit-exact replay tests; memcheck.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 300 build/tests/kiln_gpu_tests --gtest_filter='*GpuSideStream*:*GpuFp16Model*' > $R/c94_gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|side chains" $R/c94_gpu_tests.txt | head -30
timeout 200 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='*GpuSideStream.*/segformer_b0' > $R/c94_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c94_memcheck.txt | tail -2
for cfg in "b2 1" "b2 8"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > /dev/null 2>&1
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/c94_${n}_build.log 2>&1 || tail -3 $R/c94_${n}_build.log
  for r in 1 2; do for span in 100000 30 0; do KILN_SIDE_MIN_SPAN=$span build/kiln bench /tmp/$n.kiln --iterations 200 --warmup 30 --json > $R/c94_${n}_span${span}_r$r.bench.json 2>/dev/null; python3 -c "import json;d=json.load(open('$R/c94_${n}_span${span}_r$r.bench.json'));r=d['rows'][0];print('$n span $span r$r median',round(r['gpu_ms']['median'],4))"; done; done
done
(cd /tmp && tar -cf $OUT/results.tar res)
