# Session 21 call 7 (tests binary of 87e1b7b): ncu of kiln.SequenceReduction's kernel in the op bench: b8 C 64, b8 C 128, b1 C 64, b1 C 128.
source .devcarry/unpack.sh
R=$OUT/c156; mkdir -p $R
for k in 0 1 2 3; do skip=$((41 * k + 1))
  timeout 120 /usr/local/cuda/bin/ncu --set full --import-source no -k regex:sequence_reduction --launch-skip $skip -c 1 -o /tmp/sr$k build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*SequenceReductionBench*' > /dev/null 2>&1; echo "ncu $k exit $?"
  /usr/local/cuda/bin/ncu -i /tmp/sr$k.ncu-rep --page details > $R/sr${k}_details.txt 2>&1
  /usr/local/cuda/bin/ncu -i /tmp/sr$k.ncu-rep --page source --csv --print-source sass > /tmp/sr${k}_sass.csv 2>&1; gzip -c /tmp/sr${k}_sass.csv > $R/sr${k}_sass.csv.gz
  grep -E "^  [a-z_]+.*\(|Duration|Block Limit|Registers Per|Achieved Occupancy|Issue Slots Busy|Eligible Warps|Cluster" $R/sr${k}_details.txt | head -14
done
