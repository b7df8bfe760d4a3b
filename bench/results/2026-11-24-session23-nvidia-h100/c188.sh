# Session 23 call 2 (tests binary: DwConvMatMul without the in-loop pin of the accumulators; empty barriers on the H stages): its GPU tests, racecheck, op bench; ncu of stage 2's b8 case; the kernel's SASS (wgmma waits).
source .devcarry/unpack.sh
R=$OUT/c188; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 240 $T --gtest_filter='GpuDwMatMul*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head -20
S=/usr/local/cuda/bin/compute-sanitizer
timeout 120 $S --tool racecheck $T --gtest_filter='GpuDwMatMul.SegFormerShapes' > $R/racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "RACECHECK SUMMARY|PASSED|FAILED" $R/racecheck.txt | head -3
timeout 150 $T --gtest_also_run_disabled_tests --gtest_filter='*DwMatMulBench*' 2>&1 | grep -E "DwConvMatMul |unfused" | tee $R/opbench.txt
timeout 200 /usr/local/cuda/bin/ncu --set full --import-source no -k regex:dw_matmul_wgmma -c 1 -o /tmp/dm $T --gtest_also_run_disabled_tests --gtest_filter='*DwMatMulBench*' > /dev/null 2>&1; echo "ncu exit $?"
/usr/local/cuda/bin/ncu -i /tmp/dm.ncu-rep --page details > $R/ncu_details.txt 2>&1
/usr/local/cuda/bin/ncu -i /tmp/dm.ncu-rep --page source --csv --print-source sass 2>/dev/null | gzip > $R/ncu_sass.csv.gz
grep -E "Duration|Issue Slots Busy|Eligible Warps|Registers Per|Compute \(SM\) Throughput|DRAM Throughput|Grid Size" $R/ncu_details.txt | head -10
/usr/local/cuda/bin/cuobjdump -sass $T 2>/dev/null | awk '/Function : .*dw_matmul_wgmmaILi5/{f=1} f&&/Function : /&&!/dw_matmul_wgmmaILi5/{f=0} f' | gzip > $R/k5.sass.gz
zcat $R/k5.sass.gz | grep -cE "HGMMA"; zcat $R/k5.sass.gz | grep -E "WARPGROUP|DEPBAR" | awk '{$1=""; print}' | sort | uniq -c | head
