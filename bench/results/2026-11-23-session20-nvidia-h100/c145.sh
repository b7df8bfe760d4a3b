# Session 20 call 4 (tests binary: 7ec0813 + PatchEmbedTokens' LayerNorm epilogue and fuse_patch_embed_layer_norm, uncommitted): every GPU test, then memcheck and racecheck of the new epilogue's cases.
source .devcarry/unpack.sh
R=$OUT/c145; mkdir -p $R
timeout 280 build/tests/kiln_gpu_tests > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|tests ran" /tmp/gpu_tests.txt | head -12; gzip -c /tmp/gpu_tests.txt > $R/gpu_tests.txt.gz
grep -E "LayerNormEpilogue|SegformerB0Norm" /tmp/gpu_tests.txt | head -4
timeout 100 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuPatchEmbedTokens.LayerNormEpilogue' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -1 $R/memcheck.txt
timeout 100 /usr/local/cuda/bin/compute-sanitizer --tool racecheck build/tests/kiln_gpu_tests --gtest_filter='GpuPatchEmbedTokens.LayerNormEpilogue' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; tail -1 $R/racecheck.txt
