# Session 24 call 10 (kiln binary of the working tree: the output LayerNorm as a compiled-apart MixFFN kernel, S2 and Bn2 loaded once): B2 b8 and b1, B0 b1 fp16 engines built, benched and profiled; the stage-end layers.
source .devcarry/unpack.sh
R=$OUT/c203; mkdir -p $R; export R
source .devcarry/segbench.sh s24m "b2 8" "b2 1" "b0 1"
grep -h "fuse_mix_ffn_norm" $R/s24m_seg_b2_b8_build.log | head -3
grep -hE "stages.0/blocks.2/Add_1|stages.1/blocks.3/Add_1|layer_norm/|classifier" $R/s24m_profile_seg_b2_b8_fp16.txt | head -8
cd $OUT && tar czf c203.tgz c203 && rm -rf c203
