# Session 29 call 6 (tests binary: cuBLASLt over 32 candidates + kiln.MatMulNorm, the residual GEMM with the LayerNorm that reads it, fuse_matmul_norm): GpuMatMulNorm* (memcheck, racecheck too), the fp16 model tests, the op bench.
source .devcarry/unpack.sh
R=$OUT/c271; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 200 $T --gtest_filter='GpuMatMulNorm*:GpuMixFfn*:GpuDwConvMatMul*:GpuFp16*:GpuSegformer*:GpuModels*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure|fp16:" $R/tests.txt | head -30
timeout 120 compute-sanitizer --tool memcheck $T --gtest_filter='GpuMatMulNorm.Widths:GpuMatMulNorm.RaggedRows' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -2 $R/memcheck.txt
timeout 120 compute-sanitizer --tool racecheck $T --gtest_filter='GpuMatMulNorm.RaggedRows' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "RACECHECK SUMMARY|ERROR SUMMARY" $R/racecheck.txt | head -3
timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*MatMulNormBench*' 2>&1 | grep -E "median|Failure" | tee -a $R/opbench.txt
gzip $R/tests.txt
