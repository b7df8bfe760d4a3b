# Session 27 call 2 (tests binary: ResizeSumConv's wgmma kernel with 2, 3 or 4 stages, x0 double-buffered past 2): GpuResizeSum* (WgmmaShapes at 2, 3, 4 stages), memcheck at 3 and 4, the op bench at 2, 3, 4 stages, twice.
source .devcarry/unpack.sh
R=$OUT/c244; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 200 $T --gtest_filter='GpuResizeSum*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head -30
for round in 1 2; do KILN_RSC_STAGES="2 3 4" timeout 250 $T --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumConvBench*' 2>&1 | grep -E "wgmma.*median|Failure" | tee -a $R/opbench.txt; done
timeout 200 compute-sanitizer --tool memcheck $T --gtest_filter='GpuResizeSumConv.WgmmaShapes' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -3 $R/memcheck.txt
