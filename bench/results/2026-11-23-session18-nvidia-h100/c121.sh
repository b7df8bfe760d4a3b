# Session 18 call 5: AttentionBlock with the LayerNorm in lane groups of 8 channels and the residual loaded before the output product: GpuAttentionBlock tests, memcheck, the op bench, B2 b8/b1 engine medians.
source .devcarry/unpack.sh
R=$OUT
timeout 200 build/tests/kiln_gpu_tests --gtest_filter="GpuAttentionBlock*" > $R/c121_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|Failure" $R/c121_tests.txt | head
timeout 120 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter="GpuAttentionBlock.RaggedTokensAndKeys:GpuAttentionBlock.TwoHeads:GpuAttentionBlock.Float16Stream" > $R/c121_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c121_memcheck.txt | tail -2
timeout 200 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockBench*' > $R/c121_bench.txt 2>&1; grep median $R/c121_bench.txt
for bs in 8 1; do n=seg_b2_b$bs
  timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch $bs --out /tmp/$n > /dev/null 2>&1 || echo export failed
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/b.log 2>&1 || tail -3 /tmp/b.log
  for r in 1 2; do build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > /tmp/j.json 2>/dev/null; python3 -c "import json;r=json.load(open('/tmp/j.json'))['rows'][0]['gpu_ms'];print('$n r$r median',r['median'],'p90',r['p90'])" | tee -a $R/c121_bench.txt; done
done
