# Session 29 call 13 (tests binary of 756a91e): the LayerNorm bench, against c277 on the same machine.
source .devcarry/unpack.sh
TAG=${TAG:-c278}; R=$OUT/$TAG; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
[ "$TAG" = c277 ] && { timeout 200 $T --gtest_filter='GpuLayerNorm*:GpuLayerNormPatchRows*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head; gzip $R/tests.txt; }
for i in 1 2; do timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*LayerNormBench*' 2>&1 | grep -v "^\[" | tee -a $R/lnbench.txt; done
