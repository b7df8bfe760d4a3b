# Session 24 call 6 (tests binary of the working tree: the wgmma kernel staging the mma.sync kernel.s columns, 32 KB a stage; Bp loaded before the wait for S): GpuResizeSumConv tests, the op bench (both kernels), ncu of the wgmma kernel on B2's projected head at b8.
source .devcarry/unpack.sh
R=$OUT/c199; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 200 $T --gtest_filter='GpuResizeSum*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head -20
timeout 150 $T --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumConvBench*' 2>&1 | grep -E "median|Failure|FAILED" | tee $R/opbench.txt
N=/usr/local/cuda/bin/ncu
KILN_RSC_BENCH=b8p timeout 200 $N --set full --import-source no -k regex:resize_sum_conv_wgmma -s 5 -c 1 -o /tmp/wg $T --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumConvBench*' > /dev/null 2>&1; echo "ncu exit $?"
$N -i /tmp/wg.ncu-rep --page details > $R/wg_details.txt 2>&1; $N -i /tmp/wg.ncu-rep --page raw --csv 2>/dev/null | gzip > $R/wg_raw.csv.gz
$N -i /tmp/wg.ncu-rep --page source --csv --print-source sass 2>/dev/null | gzip > $R/wg_sass.csv.gz
grep -E "Duration|Issue Slots Busy|Eligible Warps|Registers Per|Compute \(SM\) Throughput|DRAM Throughput|L2 Cache Throughput|L1/TEX Cache Throughput|Grid Size|Achieved Occupancy" $R/wg_details.txt | head -12
