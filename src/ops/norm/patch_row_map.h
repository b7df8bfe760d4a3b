// Where kiln.LayerNormPatchRows stores each normalized token row (layer_norm_patch_rows.h):
// plain arithmetic, shared by the CPU reference and the CUDA kernel (layer_norm.cu).
#pragma once
#include <cstdint>

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
  KILN_LN_HD uint32_t operator()(uint32_t row) const {
    const uint32_t hw = height * width, b = row / hw, t = row - b * hw;
    const uint32_t y = t / width, x = t - y * width;
    const uint32_t wy = y / patch, wx = x / patch;
    return ((b * (height / patch) + wy) * (width / patch) + wx) * patch * patch + (y - wy * patch) * patch +
           (x - wx * patch);
  }
};

}  // namespace kiln::norm
