# Session 22 call 20 (tests binary of the review mend: tma::last_release shared by the two TMA pipelines, sm90_smem_fits): the GPU tests of the five touched kernels, racecheck of TokenConv's and AttentionBlock's, and their op benches.
source .devcarry/unpack.sh
R=$OUT/c186; mkdir -p $R
build/tests/kiln_gpu_tests --gtest_filter='GpuAttention*:GpuMixFfn*:GpuSequenceReduction*:GpuTokenConv*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED " $R/tests.txt | head
S=/usr/local/cuda/bin/compute-sanitizer
timeout 150 $S --tool racecheck build/tests/kiln_gpu_tests --gtest_filter='GpuTokenConv.SegFormerWindows:GpuAttentionBlock.Tiles' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "RACECHECK SUMMARY|PASSED|FAILED" $R/racecheck.txt | head -3
timeout 200 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockBench*:*AttentionWgmmaBench*:*TokenConvBench*' 2>&1 | grep -E "slack 8|variant 0" | tee $R/opbench.txt
