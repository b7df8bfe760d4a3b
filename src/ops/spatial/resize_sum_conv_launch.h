// ResizeSumConv on the GPU (ops/spatial/resize_sum_conv.h has the op): plain data for the
// launcher in resize_sum_conv.cu, so nvcc never sees the op headers.
#pragma once
#include <cstdint>

#include "ops/spatial/resize_sum_launch.h"

namespace kiln::spatial {

// The kernel's 1x1 conv: 16 warps as 4 (pixels, 32 each) x 4 (output channels, 8 * kNt each),
// so one tile computes up to 4 * 8 * kResizeSumConvMaxNt = 160 output channels.
inline constexpr int kResizeSumConvMaxNt = 5;
inline constexpr int64_t kResizeSumConvChunk = 64;  // input channels per step (one A tile)
// Output channels padded to a whole number of warp columns (32 * kNt).
inline constexpr int64_t resize_sum_conv_nt(int64_t classes) { return (classes + 31) / 32; }
// Shared memory beside ResizeSum's: the summed tile A [kTx][64] fp16, then W's two chunk
// buffers [32 * nt][64] fp16.
inline constexpr int64_t kResizeSumConvATileBytes = int64_t(kResizeSumTileX) * kResizeSumConvChunk * 2;
inline constexpr int64_t resize_sum_conv_w_bytes(int64_t nt) { return 2 * 32 * nt * kResizeSumConvChunk * 2; }
// One block an SM: its registers hold the conv's sums. 227 KB is sm_90's opt-in limit.
inline constexpr int64_t kResizeSumConvSmemLimit = 227 * 1024;

struct ResizeSumConvParams {
  ResizeSumParams sum;  // fp16 inputs; sum.y is unused
  const void* w = nullptr;     // [classes, channels] fp16
  const void* bias = nullptr;  // [classes], fp32 or fp16 (bias_f32)
  void* y = nullptr;           // [batch, classes, height, width], fp32 or fp16 (y_f32)
  int classes = 0, nt = 1;     // nt = resize_sum_conv_nt(classes)
  int bias_f32 = 0, y_f32 = 0;
  int a_off = 0, w_off = 0;  // byte offsets of A and W in dynamic shared memory
};

// One tile per (output row, kResizeSumTileX pixels); every tile walks all channel chunks.
inline int64_t resize_sum_conv_tiles(int64_t batch, int64_t height, int64_t width) {
  return (width + kResizeSumTileX - 1) / kResizeSumTileX * batch * height;
}

void launch_resize_sum_conv(const ResizeSumConvParams& p, CudaStream stream);

}  // namespace kiln::spatial
