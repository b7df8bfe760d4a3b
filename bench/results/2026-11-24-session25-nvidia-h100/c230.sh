# Session 25 call 21 (tests binary of the working tree: review mend — the block one resident-count ahead found by resident_grid.cuh's block_ahead in both kernels, MixFFN's prefetch switch in its kernel's file, the normed epilogue as if/else): GpuMixFfn* and GpuAttention* tests; the MixFFN and AttentionBlock prefetch on/off benches.
source .devcarry/unpack.sh
R=$OUT/c230; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 250 $T --gtest_filter='GpuMixFfn*:GpuAttention*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED " $R/tests.txt | head -5
timeout 150 $T --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*:*AttentionBlockPrefetchBench*' 2>&1 | grep -E "median" | tee $R/opbench.txt
