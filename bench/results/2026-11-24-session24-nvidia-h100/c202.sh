# Session 24 call 9 (kiln binary of the working tree: a3a423b + kiln.MixFFN's output LayerNorm and fuse_mix_ffn_norm): B2 b8 and b1, B0 b1 fp16 engines built, benched and profiled; the stage-end layers.
source .devcarry/unpack.sh
R=$OUT/c202; mkdir -p $R; export R
source .devcarry/segbench.sh s24n "b2 8" "b2 1" "b0 1"
grep -h "fuse_mix_ffn_norm" $R/s24n_seg_b2_b8_build.log | head -3
grep -hE "stages.0/blocks.2/Add_1|stages.1/blocks.3/Add_1|layer_norm/|classifier" $R/s24n_profile_seg_b2_b8_fp16.txt | head -8
cd $OUT && tar czf c202.tgz c202 && rm -rf c202
