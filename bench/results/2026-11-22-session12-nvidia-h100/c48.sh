# Session 12 call 9 (898c632): fold_layout_round_trips, 4-wide LayerNorm, the persistent ResizeSum kernel — every GPU test, the ResizeSum bench, SegFormer B2 b1/b8 and B0 times and profiles.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 300 build/tests/kiln_gpu_tests > $R/gpu_tests.txt 2>&1; grep -E "^\[  (PASSED|FAILED)|FAILED|tests ran" $R/gpu_tests.txt | head -20
build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumBench*' > $R/rs_bench.txt 2>&1; grep -v '^\[' $R/rs_bench.txt | tail -8
bash .devcarry/segbench.sh c48 "b2 1" "b2 8" "b0 1"
(cd /tmp && tar -cf $OUT/results.tar res)
