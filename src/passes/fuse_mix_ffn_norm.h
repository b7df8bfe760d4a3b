// fuse_mix_ffn_norm: the LayerNorm that ends a SegFormer stage, taken into the kiln.MixFFN before
// it (ops/conv/mix_ffn.h: inputs S2, Bn2), so the stream's last float32 sum is normalized in the
// MixFFN's epilogue and only the float16 tokens reach memory. In the float16 form that
// convert_to_fp16 and fuse_mix_ffn leave:
//
//   x ─▶ kiln.MixFFN(S, Bn, W1, B1, Wd, Bd, W2, B2; ...) ─▶ y [B, H·W, C] (x's type)
//     ─▶ LayerNormalization(S2, Bn2, axis -1, epsilon2) ─▶ z (f16)
//   becomes
//   x ─▶ kiln.MixFFN(S, Bn, W1, B1, Wd, Bd, W2, B2, S2, Bn2; ..., norm_epsilon epsilon2) ─▶ z
//
// y is read only by the LayerNorm and is not a graph output; the LayerNorm normalizes the last
// axis only, with float statistics, B given and no Mean/InvStdDev outputs; S2 and Bn2 are [C]
// float16 exactly and z float16; C is one the wgmma kernel takes (mix_ffn_norm_fits: 64 or 128,
// SegFormer-B1…B5's first two stages — the kernel runs on Hopper GPUs only, as
// kiln.SequenceReduction's does).
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_mix_ffn_norm(Graph& g);  // MixFFN nodes that took their LayerNorm

}  // namespace kiln
