// MaskPositionEmbedding (domain "kiln"): the sine position embedding of a padding mask's rows or
// columns, as DETR-style models compute it from the mask (the seed's "Mask2Pos" plugin). Put in
// the graph by passes/fuse_mask_position_embedding in place of AnchorDETR's exported
//   Not → Cast → Gather(index 0) → CumSum → Sub / Slice(last) → Div → Mul → Div(divisors) →
//   Sin, Cos → Unsqueeze, Concat → Reshape.
//
//   mask  [B, H, W] bool, True = padding
//   Y     [B, n, 2K] float32, n = H (axis 1) or W (axis 2)
//
// With v[b, i] = !mask[b, i, 0] (axis 1: down the first column) or !mask[b, 0, i] (axis 2: along
// the first row), as 0/1:
//   c[b, i]      = Σ_{j ≤ i} v[b, j]                         (exact in float32 below 2^24)
//   p[b, i]      = ((c[b, i] − offset) / c[b, n − 1]) · scale
//   a[b, i, k]   = p[b, i] / divisors[k]                      k < K
//   Y[b, i, 2k]  = sin(a[b, i, k]),  Y[b, i, 2k + 1] = cos(a[b, i, k])
// Each operation is rounded to float32 as the unfused float32 ops round it (sin and cos of the
// float argument rounded once), so the CPU reference reproduces the graph it replaces bit for
// bit. A row or column wholly padding (c = 0) divides by zero: −inf, then NaN, as unfused.
//
// Attributes: axis (1 | 2), offset, scale (float), divisors (K ≥ 1 finite non-zero floats: the
// temperature's powers as the model computed them, so any temperature is carried exactly).
#pragma once
#include <vector>

#include "ops/op.h"

namespace kiln {
class OpRegistry;
}

namespace kiln::spatial {

inline constexpr const char* kMaskPositionEmbeddingOp = "MaskPositionEmbedding";

struct MaskPositionParams {
  int axis = 1;
  float offset = 0.f, scale = 1.f;
  std::vector<float> divisors;
};

// The attributes, checked (kInvalidModel naming the node).
MaskPositionParams mask_position_params(const OpContextBase& ctx);

void register_mask_position_embedding(OpRegistry& r);

}  // namespace kiln::spatial
