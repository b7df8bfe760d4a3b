# Session 29 call 2 (tests binary: 590b306 + the conv's GELU in fp16 arithmetic, a pair at a time, in MixFFN and DwConvMatMul; cuBLASLt tuning over 32 candidates): GpuGeluHalf2 (every fp16 value), GpuMixFfn*, GpuDwConvMatMul*, the SegFormer model tests; the MixFFN and DwConvMatMul op benches; c268 runs 590b306's benches right after on the same machine.
source .devcarry/unpack.sh
R=$OUT/c267; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 250 $T --gtest_filter='GpuGeluHalf2*:GpuMixFfn*:GpuDwConvMatMul*:GpuSegformer*:GpuFp16Models*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure|gelu_erf_half2|fp16:" $R/tests.txt | head -40
for i in 1 2; do
timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*:*DwConvMatMulBench*' 2>&1 | grep -E "median|Failure" | sed "s/^/new: /" | tee -a $R/opbench.txt
done
