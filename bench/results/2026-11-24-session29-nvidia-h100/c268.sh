# Session 29 call 3 (tests binary of 756a91e = 590b306's device code): the MixFFN and DwConvMatMul op benches, against c267 on the same machine.
source .devcarry/unpack.sh
R=$OUT/c268; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
for i in 1 2; do
timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*:*DwConvMatMulBench*' 2>&1 | grep -E "median|Failure" | sed "s/^/old: /" | tee -a $R/opbench.txt
done
