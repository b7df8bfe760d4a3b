# Session 26 call 5 (tests binary of 0bd73e9): ncu of DwConvMatMul at stage 2 b8 (full set, SASS stalls).
source .devcarry/unpack.sh
R=$OUT/c235; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 200 /usr/local/cuda/bin/ncu --set full --import-source no -k regex:dwconv_matmul_wgmma -c 1 -o /tmp/dm $T --gtest_also_run_disabled_tests --gtest_filter='*DwConvMatMulBench*' > /dev/null 2>&1; echo "ncu exit $?"
/usr/local/cuda/bin/ncu -i /tmp/dm.ncu-rep --page details > $R/ncu_details.txt 2>&1
/usr/local/cuda/bin/ncu -i /tmp/dm.ncu-rep --page raw --csv 2>/dev/null | gzip > $R/ncu_raw.csv.gz
/usr/local/cuda/bin/ncu -i /tmp/dm.ncu-rep --page source --csv --print-source sass 2>/dev/null | gzip > $R/ncu_sass.csv.gz
grep -E "Duration|Issue Slots Busy|Eligible Warps|Registers Per|Compute \(SM\) Throughput|DRAM Throughput|Grid Size|L2 Hit|Stall" $R/ncu_details.txt | head -20
