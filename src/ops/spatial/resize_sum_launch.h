// ResizeSum on the GPU (ops/spatial/resize_sum.h has the op): plain data for the launcher in
// resize_sum.cu, so nvcc never sees the op headers.
#pragma once
#include <cstdint>

#include "ir/dtype.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::spatial {

inline constexpr int kResizeSumSlots = 8;  // = kResizeSumMaxInputs (resize_sum.h)
// Output tile of one block: kResizeSumTileX pixels of one output row x 128 bytes of channels
// (64 fp16 or 32 fp32 channels: eight 16-byte chunks per pixel).
inline constexpr int kResizeSumTileX = 64, kResizeSumTileBytes = 128;
inline constexpr int64_t resize_sum_tile_c(int64_t elem_bytes) { return kResizeSumTileBytes / elem_bytes; }

struct ResizeSumSource {
  const void* x = nullptr;  // [batch, channels, in_h, in_w] or tokens [batch, in_h*in_w, channels]
  const int32_t* row_index = nullptr;  // [height][2] source rows, clamped
  const float* row_weight = nullptr;   // [height][2]
  const int32_t* col_index = nullptr;  // [width][2] source columns, clamped
  const float* col_weight = nullptr;   // [width][2]
  int in_h = 0, in_w = 0;
  int tokens = 0;
  // Tokens read as 16-byte vectors along the channels: channels a multiple of 16 / element
  // size and x 16-byte aligned (else one element per load).
  int vec = 0;
};

// The host checks every tensor holds fewer than 2^31 elements (32-bit element offsets), and
// that the blocks (resize_sum_blocks) number fewer than 2^31.
struct ResizeSumParams {
  ResizeSumSource in[kResizeSumSlots];
  int inputs = 0;
  void* y = nullptr;  // [batch, channels, height, width]
  int batch = 0, channels = 0, height = 0, width = 0;
  int relu = 0;
  int vec_store = 0;  // width a multiple of 16 / element size and y 16-byte aligned
};

// One block per (output row, kResizeSumTileX pixels, channel tile).
inline int64_t resize_sum_blocks(int64_t elem_bytes, int64_t batch, int64_t channels, int64_t height, int64_t width) {
  const int64_t tc = resize_sum_tile_c(elem_bytes);
  return (width + kResizeSumTileX - 1) / kResizeSumTileX * ((channels + tc - 1) / tc) * batch * height;
}

// fp32 or fp16 storage, fp32 sums.
void launch_resize_sum(DType dt, const ResizeSumParams& p, CudaStream stream);

}  // namespace kiln::spatial
