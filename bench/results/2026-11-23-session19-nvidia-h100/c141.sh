# Session 19 call 13 (tests binary of the review mend: is_hopper_arch shared by cuda_hopper, nvrtc_arch and disable_passes_for_target): the GPU tests that reach those paths.
source .devcarry/unpack.sh
R=$OUT/c141; mkdir -p $R
timeout 200 build/tests/kiln_gpu_tests --gtest_filter='GpuPointwise*:GpuAttentionBlock*:GpuAttention*:GpuMixFfn*:GpuResizeSum*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/tests.txt | head; gzip $R/tests.txt
