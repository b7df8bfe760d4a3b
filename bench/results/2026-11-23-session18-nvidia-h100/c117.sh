# Session 18 call 1: kiln.AttentionBlock (LN + Q proj + attention + out proj + residual, B2 stage 0) — its GPU tests, the refactored attention kernel's tests, memcheck, racecheck; B2 b8 fp16 with and without fuse_attention_block.
source .devcarry/unpack.sh
R=$OUT
timeout 200 build/tests/kiln_gpu_tests --gtest_filter='GpuAttentionBlock*:GpuAttention*' > $R/c117_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|Failure|rel|max" $R/c117_tests.txt | head -20
timeout 120 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuAttentionBlock.RaggedTokensAndKeys:GpuAttentionBlock.Float16Stream' > $R/c117_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c117_memcheck.txt | tail -2
timeout 100 /usr/local/cuda/bin/compute-sanitizer --tool racecheck build/tests/kiln_gpu_tests --gtest_filter='GpuAttentionBlock.Float16Stream' > $R/c117_racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "PASSED|RACECHECK SUMMARY" $R/c117_racecheck.txt | tail -2
B=$R/c117_bench.txt; n=seg_b2_b8
timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch 8 --out /tmp/$n > /dev/null 2>&1 || echo export failed
build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/b.log 2>&1 || tail -3 /tmp/b.log
build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_off.kiln --device cuda --fp16 --disable-pass fuse_attention_block > /tmp/b2.log 2>&1 || tail -3 /tmp/b2.log
build/kiln inspect /tmp/$n.kiln --layers | grep -c "kiln.AttentionBlock" | sed 's/^/AttentionBlock nodes: /' | tee -a $B
for r in 1 2; do for e in $n ${n}_off; do build/kiln bench /tmp/$e.kiln --iterations 100 --warmup 20 --json > /tmp/j.json 2>/dev/null; python3 -c "import json;r=json.load(open('/tmp/j.json'))['rows'][0]['gpu_ms'];print('$e r$r median',r['median'],'p90',r['p90'])" | tee -a $B; done; done
build/kiln profile /tmp/$n.kiln --iterations 10 --top 40 > $R/c117_profile_b8.txt 2>&1; head -1 $R/c117_profile_b8.txt; grep -E "AttentionBlock|LayerNormPatchRows" $R/c117_profile_b8.txt | head -8; grep -A12 "^by op" $R/c117_profile_b8.txt
