# Session 29 call 12 (tests binary: 76fea1b + LayerNorm rows two a lane group in flight up to 5 vectors a lane, not 2): GpuLayerNorm* and the LayerNorm bench; c278 runs the bench of 756a91e's tests binary (the same LayerNorm code as 76fea1b) on this machine.
source .devcarry/unpack.sh
TAG=${TAG:-c277}; R=$OUT/$TAG; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
[ "$TAG" = c277 ] && { timeout 200 $T --gtest_filter='GpuLayerNorm*:GpuLayerNormPatchRows*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head; gzip $R/tests.txt; }
for i in 1 2; do timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*LayerNormBench*' 2>&1 | grep -v "^\[" | tee -a $R/lnbench.txt; done
