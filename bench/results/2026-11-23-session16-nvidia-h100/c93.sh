# Session 16 call 3: side stream in CUDA Graph captures (+ wgmma key splits): bit-exact replay tests, attention tests, memcheck; B2 b1/b8 and B0 times (ec4886c's b1: c91, 2.033 ms).
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 300 build/tests/kiln_gpu_tests --gtest_filter='GpuSideStream*:GpuAttention*:GpuFp16Model*:GpuModel*' > $R/c93_gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|side chains" $R/c93_gpu_tests.txt | head -30
timeout 200 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuSideStream.*/segformer_b0' > $R/c93_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c93_memcheck.txt | tail -2
for cfg in "b2 1" "b2 8" "b0 1"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > /dev/null 2>&1
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/c93_${n}_build.log 2>&1 || tail -3 $R/c93_${n}_build.log
  for r in 1 2; do build/kiln bench /tmp/$n.kiln --iterations 200 --warmup 30 --json > $R/c93_${n}_r$r.bench.json 2>/dev/null; python3 -c "import json;d=json.load(open('$R/c93_${n}_r$r.bench.json'));r=d['rows'][0];print('$n r$r median',round(r['gpu_ms']['median'],4), {k:v for k,v in r.items() if 'arena' in k or 'memory' in k})"; done
done
(cd /tmp && tar -cf $OUT/results.tar res)
