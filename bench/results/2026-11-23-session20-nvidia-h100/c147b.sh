# Session 20 call 6b (tests binary: wip-patch-embed-tma + the box started on a 16-byte boundary): GpuPatchEmbedTokens.*, memcheck and racecheck of its kernel cases, the op bench at B2 stage 0.
source .devcarry/unpack.sh
R=$OUT/c147b; mkdir -p $R
timeout 120 build/tests/kiln_gpu_tests --gtest_filter='GpuPatchEmbedTokens.*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/tests.txt | head
grep -B2 -A8 "Failure" $R/tests.txt | head -30
timeout 120 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuPatchEmbedTokens.TensorCores:GpuPatchEmbedTokens.LayerNormEpilogue' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -1 $R/memcheck.txt
timeout 120 /usr/local/cuda/bin/compute-sanitizer --tool racecheck build/tests/kiln_gpu_tests --gtest_filter='GpuPatchEmbedTokens.TensorCores:GpuPatchEmbedTokens.LayerNormEpilogue' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; tail -1 $R/racecheck.txt
timeout 100 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*PatchEmbedBench*' > $R/bench.txt 2>&1; echo "bench exit $?"; grep -E "patch_embed|OK|FAILED" $R/bench.txt
