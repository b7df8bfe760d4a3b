# Session 12 call 3: attention splits for small unmasked launches + rescale skip — attention GPU tests, SegFormer times and profiles.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
build/tests/kiln_gpu_tests --gtest_filter='GpuAttention*:GpuAttentionMask*:GpuMaskedAttention*' > $R/gpu_attention.txt 2>&1; grep -E "^\[  (PASSED|FAILED)|FAILED|Failure|mismatch" $R/gpu_attention.txt | head -20
bash .devcarry/segbench.sh c42 "b2 1" "b2 8" "b0 1"
for n in seg_b2_b1 seg_b2_b8; do grep "attention/MatMul_1" $R/c42_profile_${n}_fp16.txt | awk '{print $1, $4, $8}' | head -16; done
(cd /tmp && tar -cf $OUT/results.tar res)
