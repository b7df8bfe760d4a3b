# Session 32 call 4 (timing only): MixFFN's wgmma kernel at C = 64 with its shared memory padded to 120 KB so that one block, not two, fits an SM — what the second co-resident block buys, against c302's four-warpgroup version. tests = 0016b65 + the padding switch.
R=/tmp/c303; rm -rf $R; mkdir -p $R build/tests
xz -dc .devcarry/kiln_gpu_tests.xz > build/tests/kiln_gpu_tests; chmod +x build/tests/kiln_gpu_tests
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
export KILN_TEST_DIR=$PWD/tests
timeout 200 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' > $R/opbench.txt 2>&1; grep -E "MixFFN b" $R/opbench.txt | head -30
(cd $R && tar -czf $OUT/c303.tgz . )
