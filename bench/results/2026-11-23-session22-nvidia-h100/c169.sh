# Session 22 call 3: the MixFFN op bench on 10a947b's MixFFN kernel (the baseline for c168).
source .devcarry/unpack.sh
R=$OUT/c169; mkdir -p $R; export R
for i in 1 2; do build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' 2>&1 | grep -E "median" | tee -a $R/opbench.txt; done
cd $OUT && tar czf c169.tgz c169 && rm -rf c169
