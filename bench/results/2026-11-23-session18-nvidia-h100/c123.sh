# Session 18 call 7: LayerNormPatchRows' row map by precomputed divisors (InvariantDivisor) and the group sums unrolled: the LayerNorm GPU tests, memcheck, B2 b8/b1 medians and the LayerNorm layers' times.
source .devcarry/unpack.sh
R=$OUT
timeout 200 build/tests/kiln_gpu_tests --gtest_filter='GpuLayerNorm*:GpuMixedPrecision*:GpuNormSoftmax*' > $R/c123_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|Failure" $R/c123_tests.txt | head
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuLayerNormPatchRows*' > $R/c123_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c123_memcheck.txt | tail -2
for bs in 8 1; do n=seg_b2_b$bs
  timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch $bs --out /tmp/$n > /dev/null 2>&1 || echo export failed
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/b.log 2>&1 || tail -3 /tmp/b.log
  for r in 1 2; do build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > /tmp/j.json 2>/dev/null; python3 -c "import json;r=json.load(open('/tmp/j.json'))['rows'][0]['gpu_ms'];print('$n r$r median',r['median'],'p90',r['p90'])" | tee -a $R/c123_bench.txt; done
  build/kiln profile /tmp/$n.kiln --iterations 10 --top 60 > $R/c123_profile_b$bs.txt 2>&1; build/kiln profile /tmp/$n.kiln --iterations 10 --json > $R/c123_profile_b$bs.json 2>&1; head -1 $R/c123_profile_b$bs.txt; grep -A12 "^by op" $R/c123_profile_b$bs.txt | grep -E "LayerNorm|by op"
done
