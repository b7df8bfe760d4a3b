# Session 24 call 13 (tests binary of the working tree: MixFFN's output LayerNorm in a kernel parameter of its own, the plain kernels' PTX a3a423b's again): GpuMixFfn tests, memcheck of the output-norm cases, the MixFFN op bench.
source .devcarry/unpack.sh
R=$OUT/c206; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 200 $T --gtest_filter='GpuMixFfn*:GpuResizeSum*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure|fp16:" $R/tests.txt | head -20
S=/usr/local/cuda/bin/compute-sanitizer
timeout 120 $S --tool memcheck $T --gtest_filter='GpuMixFfn.OutputNorm*' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY" $R/memcheck.txt | head -2
timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' 2>&1 | grep -E "MixFFN b" | tee $R/mixffn_bench.txt
