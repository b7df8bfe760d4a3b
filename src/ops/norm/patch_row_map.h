// Where kiln.LayerNormPatchRows stores each normalized token row (layer_norm_patch_rows.h):
// plain arithmetic, shared by the CPU reference and the CUDA kernel (layer_norm.cu).
#pragma once
#include <cstdint>

#include "ops/norm/invariant_divisor.h"

#ifdef __CUDACC__
#define KILN_LN_HD __host__ __device__ __forceinline__
#else
#define KILN_LN_HD inline
#endif

namespace kiln::norm {

// Token rows [batch, height·width] of a picture cut into patch × patch windows, moved so that
// each window's rows follow one another: token (b, y, x) goes to row
//   ((b·(H/p) + y/p)·(W/p) + x/p)·p·p + (y%p)·p + x%p,
// the row order of Reshape [B, H/p, p, W/p, p, C] → Transpose(0,1,3,2,4,5) → Reshape
// [B·(H/p)·(W/p), p·p·C]. The host checks that p divides H and W and that rows fit in 32 bits.
struct PatchRowMap {
  uint32_t height = 0, width = 0, patch = 0;
  InvariantDivisor by_hw, by_width, by_patch;  // the map's divisions, precomputed

  PatchRowMap() = default;
  KILN_LN_HD PatchRowMap(uint32_t h, uint32_t w, uint32_t p)
      : height(h), width(w), patch(p), by_hw(h * w), by_width(w), by_patch(p) {}
  KILN_LN_HD uint32_t operator()(uint32_t row) const {
    const uint32_t b = by_hw.div(row), t = row - b * (height * width);
    const uint32_t y = by_width.div(t), x = t - y * width;
    const uint32_t wy = by_patch.div(y), wx = by_patch.div(x);
    // ((b·(H/p) + wy)·(W/p) + wx)·p·p with whole windows ((H/p)·p = H, the host checks it):
    return (b * height + wy * patch) * width + wx * patch * patch + (y - wy * patch) * patch + (x - wx * patch);
  }
};

}  // namespace kiln::norm
