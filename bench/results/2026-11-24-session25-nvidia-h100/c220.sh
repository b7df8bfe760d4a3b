# Session 25 call 11 (tests binary of main at ec4b2de): ncu --set full of AttentionBlock stage 0 (b8, Nk 1024) with per-instruction SASS samples, to place its stalls in the prologue, the key loop and the epilogue.
source .devcarry/unpack.sh
R=$OUT/c220; mkdir -p $R
T=build/tests/kiln_gpu_tests
timeout 200 /usr/local/cuda/bin/ncu --set full --import-source no -k regex:attention_block_wgmma -c 1 -o /tmp/ab $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockBench*' > /dev/null 2>&1; echo "ncu exit $?"
/usr/local/cuda/bin/ncu -i /tmp/ab.ncu-rep --page details > $R/ab_s0_details.txt 2>&1
/usr/local/cuda/bin/ncu -i /tmp/ab.ncu-rep --page source --csv --print-source sass 2>/dev/null | gzip > $R/ab_s0_sass.csv.gz
ls -la $R; grep -E "Duration|Issue Slots Busy|Eligible Warps" $R/ab_s0_details.txt | head -4
