// ResizeSumPointwiseConv on the GPU (resize_sum_pointwise_conv.h has the op): plain data for the
// fp16 tensor-core kernel in resize_sum_pointwise_conv.cu, so nvcc never sees the op headers.
#pragma once
#include "ops/spatial/resize_sum_launch.h"

namespace kiln::spatial {

// Block tile: kResizeSumConvTileP output pixels (consecutive in one image, rows may wrap) x
// kResizeSumConvTileN output channels; every block loops over all C input channels.
inline constexpr int kResizeSumConvTileP = 128, kResizeSumConvTileN = 160;

struct ResizeSumConvParams {
  ResizeSumParams sum;        // the images and taps (sum.y unused; sum.channels = C, a multiple of 8)
  const void* w = nullptr;    // [co, C] fp16, 16-byte aligned
  const void* b = nullptr;    // [co] fp16 or fp32, or nullptr
  int b_f32 = 0;
  void* y = nullptr;          // [batch, co, height, width] fp16 or fp32
  int y_f32 = 0;
  int co = 0;
  int vec_store = 0;          // height * width a multiple of 4 and y 16-byte aligned
  int identity[kResizeSumSlots] = {};  // input i at the output size with taps (1, 0): one read, no math
};

// Blocks: pixel tiles of every image x channel tiles (the host checks both fit 32 bits).
inline int64_t resize_sum_conv_pixel_tiles(int64_t batch, int64_t height, int64_t width) {
  return batch * ((height * width + kResizeSumConvTileP - 1) / kResizeSumConvTileP);
}

// fp16 images and W, fp32 accumulation, Y fp16 or fp32.
void launch_resize_sum_conv_f16(const ResizeSumConvParams& p, CudaStream stream);

}  // namespace kiln::spatial
