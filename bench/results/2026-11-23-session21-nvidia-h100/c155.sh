# Session 21 call 6 (kiln binary of 87e1b7b; c154's tests binary left in build/): the six GPU tests that need build/kiln.
source .devcarry/unpack.sh
R=$OUT/c155; mkdir -p $R
timeout 200 build/tests/kiln_gpu_tests --gtest_filter='GpuDynamicFp16.*:GpuInt8Cli.*:GpuRunTask.*' > $R/rerun.txt 2>&1; echo "rerun exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/rerun.txt | head
