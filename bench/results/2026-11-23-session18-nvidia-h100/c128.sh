# Session 18 call 12 (binaries of the review mend dropping TilePlan::b and InvariantDivisor::d): the ResizeSumConv, LayerNorm and mixed-precision GPU tests, memcheck on ResizeSumConv and LayerNormPatchRows.
mkdir -p build/tests; xz -dc .devcarry/kiln_gpu_tests.xz > build/tests/kiln_gpu_tests && chmod +x build/tests/kiln_gpu_tests; echo "binaries of $(cat .devcarry/commit)"
R=$OUT
timeout 200 build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSum*:GpuLayerNorm*:GpuMixedPrecision*:GpuAttentionBlock*' > $R/c128_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/c128_tests.txt | head
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSumConv.*:GpuLayerNormPatchRows*' > $R/c128_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c128_memcheck.txt | tail -2
