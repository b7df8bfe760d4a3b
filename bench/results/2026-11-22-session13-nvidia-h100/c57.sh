# Session 13 call 8 (the review mend, final GPU code): every GPU test; memcheck on the attention and depthwise tests; B2 b8/b1 and B0 kiln fp16 times.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 110 build/tests/kiln_gpu_tests > $R/gpu_tests.txt 2>&1; echo "gpu tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/gpu_tests.txt | head -10
timeout 150 compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuAttention*:GpuTokenDwconv*:GpuPatchEmbedTokens.TensorCores:GpuLayerNorm*' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" $R/memcheck.txt | head -4
for cfg in "b2 8" "b2 1" "b0 1"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/${n}_build.log 2>&1 || tail -3 $R/${n}_build.log
  build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > $R/c57_${n}_fp16.bench.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/c57_${n}_fp16.bench.json'))['rows'][0]['gpu_ms'];print('$n fp16 median',r['median'],'p90',r['p90'])"
done
(cd /tmp && tar -cf $OUT/results.tar res)
