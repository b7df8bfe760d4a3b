// MSDeformAttn (domain "kiln"): multi-scale deformable attention's sampling core, as
// transformers' `multi_scale_deformable_attention` computes it in PyTorch (Deformable DETR,
// Mask2Former's pixel decoder). Put in the graph by passes/fuse_ms_deform_attn in place of the
// exported per-level GridSamples, and imported as is where a model names kiln.MSDeformAttn.
//
//   value               [B, S, H, D]        S tokens: every level's h*w pixels, row-major
//   spatial_shapes      [L, 2]   int64      (h_l, w_l)
//   level_start_index   [L]      int64      first token of level l in value
//   sampling_locations  [B, Q, H, L, P, 2]  (x, y) normalized to [0, 1] over the level
//   attention_weights   [B, Q, H, L, P]
//   output              [B, Q, H*D]
//
//   out[b, q, h*D + d] = Σ_l Σ_p attention_weights[b,q,h,l,p] ·
//                        bilinear_l(value[b, start_l : start_l + h_l*w_l, h, d], loc[b,q,h,l,p])
//
// bilinear_l is grid_sample(mode bilinear, padding_mode zeros, align_corners False) at grid
// 2*loc - 1: the pixel coordinate is x = loc_x * w_l - 0.5 (y likewise), each of the four
// neighbours outside the level contributes zero. Non-finite locations sample zero.
#pragma once
#include <vector>

#include "ir/tensor.h"
#include "ops/op.h"

namespace kiln::spatial {

inline constexpr const char* kMsDeformAttnOp = "MSDeformAttn";

struct MsDeformAttnDims {
  int64_t batch = 0, tokens = 0, heads = 0, head_dim = 0, queries = 0, levels = 0, points = 0;
};

struct MsDeformLevel {
  int64_t height = 0, width = 0, start = 0;
};

// The five inputs' dims checked against each other (invalid model otherwise).
MsDeformAttnDims ms_deform_attn_dims(const OpContextBase& ctx, const std::vector<Dims>& dims);

// The levels from spatial_shapes and level_start_index (int64 or int32), each checked to lie
// inside value's tokens.
std::vector<MsDeformLevel> ms_deform_attn_levels(const OpContextBase& ctx, const Tensor& spatial_shapes,
                                                 const Tensor& level_start_index, const MsDeformAttnDims& d);

}  // namespace kiln::spatial
