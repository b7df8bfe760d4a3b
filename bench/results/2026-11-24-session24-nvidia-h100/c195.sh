# Session 24 call 2 (same tests binary as c194): ncu of ResizeSumConv's two kernels on B2's projected head, b8 (the op bench's launches: wgmma's 187th, mma.sync's 311th).
source .devcarry/unpack.sh
R=$OUT/c195; mkdir -p $R
T=build/tests/kiln_gpu_tests
N=/usr/local/cuda/bin/ncu
timeout 250 $N --set full --import-source no -k regex:resize_sum_conv_wgmma --launch-skip 186 -c 1 -o /tmp/wg $T --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumConvBench*' > /dev/null 2>&1; echo "ncu wgmma exit $?"
timeout 250 $N --set full --import-source no -k regex:resize_sum_conv_kernel --launch-skip 310 -c 1 -o /tmp/ms $T --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumConvBench*' > /dev/null 2>&1; echo "ncu mma.sync exit $?"
for k in wg ms; do $N -i /tmp/$k.ncu-rep --page details > $R/${k}_details.txt 2>&1; $N -i /tmp/$k.ncu-rep --page raw --csv 2>/dev/null | gzip > $R/${k}_raw.csv.gz
echo "== $k"; grep -E "Duration|Issue Slots Busy|Eligible Warps|Registers Per|Compute \(SM\) Throughput|DRAM Throughput|L2 Cache Throughput|L1/TEX Cache Throughput|Memory Throughput|Grid Size|Block Size|Shared Memory Configuration|Achieved Occupancy" $R/${k}_details.txt | head -16; done
