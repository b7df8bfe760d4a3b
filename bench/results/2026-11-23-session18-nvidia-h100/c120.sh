# Session 18 call 4: ncu (full set + SASS samples) of the AttentionBlock kernel at B2 stage 0 and stage 1, batch 8 (the op bench's launches).
source .devcarry/unpack.sh
R=$OUT
for k in 0 1; do
  f="*AttentionBlockBench*"
  timeout 250 /usr/local/cuda/bin/ncu --set full --import-source no -k regex:attention_block --launch-skip $((k*41+2)) -c 1 -o /tmp/r$k build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter="$f" > /tmp/ncu$k.log 2>&1; tail -2 /tmp/ncu$k.log
  /usr/local/cuda/bin/ncu -i /tmp/r$k.ncu-rep --page details > $R/c120_ab${k}_details.txt 2>&1
  /usr/local/cuda/bin/ncu -i /tmp/r$k.ncu-rep --page source --csv --print-source sass 2>/dev/null | gzip > $R/c120_ab${k}_sass.csv.gz
  grep -E "Duration|Issue Slots Busy|Warp Cycles Per Issued|No Eligible|Registers Per|Achieved Occupancy|Compute \(SM\) Throughput|DRAM Throughput" $R/c120_ab${k}_details.txt | head -12
done
