# Session 29 call 10 (tests binary: fa84d04 + the MatMulNorm patch applied): ncu of MatMulNorm's kernel at stage 2's width (rows 32768, K = N = 320, fp32 stream) in its op bench — what bounds it — for the next session's lead; and, for comparison, the cuBLASLt GEMM + LayerNorm pair is in c274's profile.
source .devcarry/unpack.sh
R=$OUT/c275; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 200 /usr/local/cuda/bin/ncu --clock-control none --set full --import-source no -k regex:matmul_norm_wgmma --launch-skip 3 -c 1 -o /tmp/mn $T --gtest_also_run_disabled_tests --gtest_filter='*MatMulNormBench*' > $R/ncu_run.txt 2>&1; echo "ncu exit $?"; tail -3 $R/ncu_run.txt
/usr/local/cuda/bin/ncu -i /tmp/mn.ncu-rep --page details > $R/matmul_norm_details.txt 2>&1
grep -E "Duration|Issue Slots Busy|Eligible Warps|Registers Per|Achieved Occupancy|Executed Instructions  |DRAM Throughput|L2 Cache Throughput|Memory Throughput|Grid Size|Block Size|L1/TEX Hit|L2 Hit|One or More|No Eligible" $R/matmul_norm_details.txt | head -30
grep -A12 "Warp State Statistics" $R/matmul_norm_details.txt | head -14
