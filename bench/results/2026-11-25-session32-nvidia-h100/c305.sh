# Session 32 call 6 (tests binary: c121c43 + StagedX::swizzled, the staged X rows' swizzle written once for the copies and the epilogue's reads): MixFFN's GPU tests, memcheck, the op bench.
R=/tmp/c305; rm -rf $R; mkdir -p $R build/tests
xz -dc .devcarry/kiln_gpu_tests.xz > build/tests/kiln_gpu_tests; chmod +x build/tests/kiln_gpu_tests
nvidia-smi --query-gpu=name --format=csv,noheader
export KILN_TEST_DIR=$PWD/tests
T=build/tests/kiln_gpu_tests
timeout 200 $T --gtest_filter='GpuMixFfn*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head
timeout 240 compute-sanitizer --tool memcheck $T --gtest_filter='GpuMixFfn.WgmmaKernelOnHopper:GpuMixFfn.OutputNormOnTheWgmmaKernel:GpuMixFfn.RaggedImages' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -1 $R/memcheck.txt
timeout 120 $T --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' > $R/opbench.txt 2>&1; grep -E "MixFFN b" $R/opbench.txt
(cd $R && tar -czf $OUT/c305.tgz . )
