// fuse_dwconv_matmul: the depthwise conv of a SegFormer MLP and the fc2 GEMM that alone reads it,
// with fc2's residual, as one kiln.DwConvMatMul (ops/conv/dwconv_matmul.h), whose kernel hands
// the conv's output to fc2 through shared memory (SegFormer-B2's stage 2, C 320, where
// fuse_mix_ffn's kernel does not take the width):
//
//   H [B, h·w, Hd] ─▶ kiln.DepthwiseConvNHWC(Wd, Bd; 3×3, stride 1, pads 1, activation a)
//     ─▶ D [B, h·w, Hd] ─▶ kiln.FusedMatMul(W2 [Hd, C], B2 [C], residual X; no activation)
//     ─▶ Y [B, h·w, C]
//   becomes
//   H ─▶ kiln.DwConvMatMul(Wd, Bd, W2, B2, X; height h, width w, activation a) ─▶ Y   (named after fc2)
//
// Checked: D read only by fc2, as its A, and no graph output; float16 H, Wd, Bd, D and W2; B2
// float32 or float16 and X and Y of its type; static shapes; the widths the kernel takes
// (dwconv_matmul_fits: C 320, Hd a multiple of 64); and at least kDwConvMatMulMinTiles 8 x 16
// tiles — the kernel runs a tile per SM, so a small grid (B2 stage 2 at batch 1: 32 tiles)
// leaves most of the GPU idle where the unfused kernels spread wider. fp16 engines run it after
// convert_to_fp16 (after_fp16_pass_names) and after fuse_mix_ffn; Hopper only
// (hopper_only_pass_names).
#pragma once
#include <cstdint>

#include "ir/graph.h"

namespace kiln {

inline constexpr int64_t kDwConvMatMulMinTiles = 128;

int fuse_dwconv_matmul(Graph& g);  // conv + GEMM pairs merged

}  // namespace kiln
