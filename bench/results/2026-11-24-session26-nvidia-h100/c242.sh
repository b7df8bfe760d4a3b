# Session 26 call 12 (tests binary of the review mend: MixFFN's halo_token/halo_tokens shared with DwConvMatMul, its tile constants shared with the pass): GpuMixFfn* and GpuDwConvMatMul* tests, memcheck of the DwConvMatMul ragged cases, both op benches.
source .devcarry/unpack.sh
R=$OUT/c242; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 200 $T --gtest_filter='GpuMixFfn*:GpuDwConvMatMul*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED " $R/tests.txt | head -10
timeout 200 compute-sanitizer --tool memcheck $T --gtest_filter='GpuDwConvMatMul.RaggedImages:GpuMixFfn.RaggedImages' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; grep "ERROR SUMMARY" $R/memcheck.txt
timeout 150 $T --gtest_also_run_disabled_tests --gtest_filter='*DwConvMatMulBench*:*MixFfnBench*' 2>&1 | grep -E "median" | tee $R/opbench.txt
