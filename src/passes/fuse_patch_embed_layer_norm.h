// fuse_patch_embed_layer_norm: the LayerNorm right after a patch embedding taken into the
// embedding's epilogue — kiln.PatchEmbedTokens' (a picture's) or kiln.TokenConv's (a stage's, at Co
// 64 or 128: token_conv_norm_fits) — so the embedding's tokens reach memory once, normalized
// (SegFormer's embedding norms: at B2 1024² batch 8 a 134 MB fp32 read and write gone at stage 0,
// 67 MB at stage 1):
//
//   x ─▶ kiln.PatchEmbedTokens | kiln.TokenConv (W, [bias]) ─▶ t [B, P, Co]
//     ─▶ LayerNormalization(Scale, [B]) ─▶ y
//   becomes
//   x ─▶ the same op (W, [bias], Scale, [B], epsilon) ─▶ y
//
// t is read only by the LayerNorm (not a graph output); the LayerNorm normalizes the last axis
// (axis −1 or 2 of a static rank-3 t), stash_type 1, writes Y alone (no Mean or InvStdDev), and
// its Scale and B are constants of exactly [Co]; t, Scale, B and y share one float type (the
// fused op computes the statistics of t as its type stores it, in fp32). An embedding that
// already has a LayerNorm is left alone. fp16 engines run it after convert_to_fp16 (with
// fuse_mix_ffn and the others of after_fp16_pass_names), where the stream start it makes is
// float32 (precision_islands.h): the embedding writes t in fp32, the LayerNorm reads and writes
// fp32, and so does the fused node.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_patch_embed_layer_norm(Graph& g);  // LayerNorms taken into patch embeddings

}  // namespace kiln
