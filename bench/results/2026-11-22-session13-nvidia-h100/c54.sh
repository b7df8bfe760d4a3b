# Session 13 call 5 (ee + tree softmax, uncommitted): merged helpers' PatchEmbedTokens and tokens-layout decode head; every GPU test; memcheck on the new kernels; the three kernel benches; SegFormer B2 b8/b1 and B0 times and profiles.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 240 build/tests/kiln_gpu_tests > $R/gpu_tests.txt 2>&1; echo "gpu tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|tests ran" $R/gpu_tests.txt | head -20
grep -B3 -A15 "Failure" $R/gpu_tests.txt | head -80
timeout 200 compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuPatchEmbedTokens.TensorCores:GpuPatchEmbedTokens.Direct:GpuResizeSum.TokensOutput*:GpuFusedMatMul.TransposedOutput:GpuAttention.Wgmma*' > $R/memcheck_new.txt 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" $R/memcheck_new.txt | head -4
timeout 100 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*PatchEmbedBench*:*ResizeSumBench*' > $R/benches.txt 2>&1; grep -v '^\[' $R/benches.txt | grep -v "^$" | tail -24
bash .devcarry/segbench.sh c54 "b2 8" "b2 1" "b0 1"
(cd /tmp && tar -cf $OUT/results.tar res)
