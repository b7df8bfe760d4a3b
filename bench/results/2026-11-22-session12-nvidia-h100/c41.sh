# Session 12 call 2: the wide attention kernel — GPU attention tests, SegFormer B2 b1/b8 and B0 times and profiles.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
build/tests/kiln_gpu_tests --gtest_filter='GpuAttention*' > $R/gpu_attention.txt 2>&1; grep -E "^\[  (PASSED|FAILED)|FAILED|Failure|mismatch" $R/gpu_attention.txt | head -20
bash .devcarry/segbench.sh c41 "b2 1" "b2 8" "b0 1"
for n in seg_b2_b1 seg_b2_b8; do grep "attention/MatMul_1" $R/c41_profile_${n}_fp16.txt | awk '{print $1, $5, $7}' | sort -u -k1,1 | head -20; done
(cd /tmp && tar -cf $OUT/results.tar res)
