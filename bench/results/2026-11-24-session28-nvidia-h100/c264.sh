# Session 28 call 17 (tests binary: decf093 + MixFFN's halo LayerNorm on 8 channels a lane (one shuffle level fewer, one 16-byte store)): GpuMixFfn* (both kernels) and the models', memcheck and racecheck, the MixFFN op bench twice; c265 runs decf093 binary's bench right after on the same machine.
source .devcarry/unpack.sh
R=$OUT/c264; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 250 $T --gtest_filter='GpuMixFfn*:GpuSegformer*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head -30
timeout 150 compute-sanitizer --tool memcheck $T --gtest_filter='GpuMixFfn.WgmmaKernelOnHopper:GpuMixFfn.RaggedImages:GpuMixFfn.OutputNormOnTheWgmmaKernel' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -2 $R/memcheck.txt
timeout 150 compute-sanitizer --tool racecheck $T --gtest_filter='GpuMixFfn.WgmmaKernelOnHopper:GpuMixFfn.RaggedImages' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "RACECHECK SUMMARY|ERROR SUMMARY" $R/racecheck.txt | head -3
timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' 2>&1 | grep -E "prefetch on|Failure" | sed "s/^/new: /" | tee -a $R/opbench.txt
