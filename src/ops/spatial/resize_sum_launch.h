// ResizeSum on the GPU (ops/spatial/resize_sum.h has the op): plain data for the launcher in
// resize_sum.cu, so nvcc never sees the op headers.
#pragma once
#include <cstdint>

#include "ir/dtype.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::spatial {

inline constexpr int kResizeSumSlots = 8;  // = kResizeSumMaxInputs (resize_sum.h)
// Output tile of one block: kResizeSumTileX pixels of one output row x kResizeSumTileC channels.
inline constexpr int kResizeSumTileX = 64, kResizeSumTileC = 32;
// Token columns a block stages in shared memory: an upsampling tile reads at most TileX + 1.
inline constexpr int kResizeSumSpan = 2 * kResizeSumTileX + 2;

struct ResizeSumSource {
  const void* x = nullptr;  // [batch, channels, in_h, in_w] or tokens [batch, in_h*in_w, channels]
  const int32_t* row_index = nullptr;  // [height][2] source rows, clamped
  const float* row_weight = nullptr;   // [height][2]
  const int32_t* col_index = nullptr;  // [width][2] source columns, clamped, nondecreasing
  const float* col_weight = nullptr;   // [width][2]
  int in_h = 0, in_w = 0;
  int tokens = 0;
  // Tokens whose columns under every output tile span at most kResizeSumSpan: read once per
  // tile, coalesced along the channels, into shared memory (else read per output element).
  int staged = 0;
};

// The host checks every tensor holds fewer than 2^31 elements (32-bit element offsets).
struct ResizeSumParams {
  ResizeSumSource in[kResizeSumSlots];
  int inputs = 0;
  void* y = nullptr;  // [batch, channels, height, width]
  int batch = 0, channels = 0, height = 0, width = 0;
  int relu = 0;
};

// fp32 or fp16 storage, fp32 sums.
void launch_resize_sum(DType dt, const ResizeSumParams& p, CudaStream stream);

}  // namespace kiln::spatial
