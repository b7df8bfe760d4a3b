# Session 12 call 4: wide attention with FFMA softmax; tiled depthwise 3x3 (helper) — attention GPU tests, SegFormer B2 b1/b8 times and profiles; which profilers exist.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
which nsys ncu cuobjdump nvdisasm 2>&1 | head; ls /usr/local/cuda/bin | tr '\n' ' ' | head -c 600; echo
build/tests/kiln_gpu_tests --gtest_filter='GpuAttention*:GpuTokenDwconv*:GpuConvPaths*:GpuFusedConv*' > $R/gpu_attention.txt 2>&1; grep -E "^\[  (PASSED|FAILED)|FAILED|Failure|mismatch" $R/gpu_attention.txt | head -20
build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*TokenDwconvBench*' > $R/dw_bench.txt 2>&1; grep -v '^\[' $R/dw_bench.txt | tail -12
bash .devcarry/segbench.sh c43 "b2 1" "b2 8"
for n in seg_b2_b1 seg_b2_b8; do grep "attention/MatMul_1\|stages.0/blocks.0/mlp/act" $R/c43_profile_${n}_fp16.txt | awk '{print $1, $4, $8}' | head -16; done
(cd /tmp && tar -cf $OUT/results.tar res)
