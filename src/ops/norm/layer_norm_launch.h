// LayerNormalization's row kernel (layer_norm.cu) and what it takes: plain data only, so nvcc
// compiles it without kiln's op headers. Shared by LayerNormalization and kiln.LayerNormPatchRows
// (layer_norm_patch_rows.h), which also stores every normalized row at its patch-rows place.
#pragma once
#include <cstdint>

#include "ops/norm/patch_row_map.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::norm {

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
