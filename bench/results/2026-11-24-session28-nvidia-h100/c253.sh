# Session 28 call 6 (tests binary of HEAD 3fc6740 (MixFFN by TMA) + DwConvMatMul's W2 by TMA, uncommitted): every GPU test; memcheck and racecheck of GpuDwConvMatMul; the DwConvMatMul op bench (two rounds inside); c254 runs HEAD's binary's bench right after on the same machine.
source .devcarry/unpack.sh
R=$OUT/c253; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 420 $T > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|tests ran|FAILED  \]" /tmp/gpu_tests.txt | head -12; gzip -c /tmp/gpu_tests.txt > $R/gpu_tests.txt.gz
timeout 100 compute-sanitizer --tool memcheck $T --gtest_filter='GpuDwConvMatMul.*' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -2 $R/memcheck.txt
timeout 100 compute-sanitizer --tool racecheck $T --gtest_filter='GpuDwConvMatMul.Widths:GpuDwConvMatMul.RaggedImages' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "RACECHECK SUMMARY|ERROR SUMMARY" $R/racecheck.txt | head -3
timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*DwConvMatMulBench*' 2>&1 | grep -E "median|Failure" | sed "s/^/new: /" | tee -a $R/opbench.txt
