# Session 22 call 10 (working tree: TokenConv's LayerNorm epilogue): GPU TokenConv tests, memcheck and racecheck of them, the TokenConv op bench.
source .devcarry/unpack.sh
R=$OUT/c176; mkdir -p $R; export R
build/tests/kiln_gpu_tests --gtest_filter='GpuTokenConv*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head
S=/usr/local/cuda/bin/compute-sanitizer
timeout 200 $S --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuTokenConv.SegFormerWindows:GpuTokenConv.LayerNormEpilogue' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" $R/memcheck.txt | head -3
timeout 200 $S --tool racecheck build/tests/kiln_gpu_tests --gtest_filter='GpuTokenConv.SegFormerWindows' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "RACECHECK SUMMARY|ERROR SUMMARY|PASSED|FAILED" $R/racecheck.txt | head -3
build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*TokenConvBench*' 2>&1 | grep -E "variant 0" | tee $R/opbench.txt
cd $OUT && tar czf c176.tgz c176 && rm -rf c176
