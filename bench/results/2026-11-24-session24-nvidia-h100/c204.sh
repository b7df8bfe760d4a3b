# Session 24 call 11 (kiln binary of the working tree: the plain MixFFN kernels' PTX back to a3a423b's exactly, the normed one apart): B2 b8 and b1 fp16 engines built, benched and profiled; the MixFFN and LayerNorm layers.
source .devcarry/unpack.sh
R=$OUT/c204; mkdir -p $R; export R
source .devcarry/segbench.sh s24p "b2 8" "b2 1"
grep -hE "MixFFN|layer_norm/" $R/s24p_profile_seg_b2_b8_fp16.txt | head -12
cd $OUT && tar czf c204.tgz c204 && rm -rf c204
