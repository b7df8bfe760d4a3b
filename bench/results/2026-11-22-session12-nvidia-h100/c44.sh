# Session 12 call 5 (973f4fd): wide attention + tiled dwconv + fused decode-head classifier — every GPU test, the fused head bench, SegFormer B2 b1/b8 and B0 times and profiles.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 400 build/tests/kiln_gpu_tests > $R/gpu_tests.txt 2>&1; grep -E "^\[  (PASSED|FAILED)|FAILED|tests ran" $R/gpu_tests.txt | head -20
build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumPointwiseConvBench*' > $R/head_bench.txt 2>&1; grep -v '^\[' $R/head_bench.txt | tail -10
bash .devcarry/segbench.sh c44 "b2 1" "b2 8" "b0 1"
(cd /tmp && tar -cf $OUT/results.tar res)
