# Session 24 call 8 (tests binary of the working tree: a3a423b + kiln.MixFFN's output LayerNorm and fuse_mix_ffn_norm): GpuMixFfn tests, memcheck and racecheck of the output-norm cases.
source .devcarry/unpack.sh
R=$OUT/c201; mkdir -p $R; export R
T=build/tests/kiln_gpu_tests
timeout 200 $T --gtest_filter='GpuMixFfn*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure|fp16:" $R/tests.txt | head -20
S=/usr/local/cuda/bin/compute-sanitizer
timeout 120 $S --tool memcheck $T --gtest_filter='GpuMixFfn.OutputNorm*' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY" $R/memcheck.txt | head -2
timeout 120 $S --tool racecheck $T --gtest_filter='GpuMixFfn.OutputNorm*' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "RACECHECK SUMMARY" $R/racecheck.txt | head -2
cd $OUT && tar czf c201.tgz c201 && rm -rf c201
