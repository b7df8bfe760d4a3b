// LayerNormalization's row kernel (layer_norm.cu) and what it takes: plain data only, so nvcc
// compiles it without kiln's op headers. Shared by LayerNormalization and kiln.LayerNormPatchRows
// (layer_norm_patch_rows.h), which also stores every normalized row at its patch-rows place.
#pragma once
#include <cstdint>

#include "runtime/cuda/device_tensor.h"

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

struct LayerNormArgs {
  const void* x = nullptr;
  const void* scale = nullptr;  // inner elements
  const void* bias = nullptr;   // inner elements, or nullptr
  void* y = nullptr;            // rows × inner; nullptr only when `rows_out` is set (Y unread)
  float* mean = nullptr;        // rows, or nullptr
  float* inv_std = nullptr;     // rows, or nullptr
  void* rows_out = nullptr;     // rows × inner in Y's type: row r stored again at row_map(r); or nullptr
  PatchRowMap row_map;
  int64_t rows = 0, inner = 0;
  float eps = 1e-5f;
};
// x: X's type; y: Y's, Scale's and B's (f32/f16 each).
void launch_layer_norm(DType x, DType y, const LayerNormArgs& args, CudaStream stream);

}  // namespace kiln::norm
