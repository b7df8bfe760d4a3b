// ResizeSumConv on the GPU (ops/spatial/resize_sum_conv.h has the op): plain data for the
// launcher in resize_sum_conv.cu, so nvcc never sees the op headers.
#pragma once
#include <cuda.h>

#include <cstdint>

#include "ops/spatial/resize_sum_conv_geometry.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::spatial {

// A resized (banded) input: tokens [batch, in_h * in_w, channels] fp16 and its taps.
struct RscSource {
  const void* x = nullptr;
  const int32_t* row_index = nullptr;  // [height][2] source rows, clamped
  const float* row_weight = nullptr;   // [height][2]
  const int32_t* col_index = nullptr;  // [width][2] source columns, clamped
  const float* col_weight = nullptr;   // [width][2]
  int in_h = 0, in_w = 0;
  int cols = 0, off = 0;  // RscLayout's, or RscWgmmaLayout's (window columns; the slot's offset)
  int rows = 0;           // RscWgmmaLayout's window rows
};

// The host checks every input holds fewer than 2^31 elements (32-bit element offsets) and that
// the tiles number fewer than 2^31.
struct ResizeSumConvParams {
  RscSource in[kRscMaxBanded];
  int banded = 0;
  const void* ident = nullptr;  // tokens [batch, height * width, channels] fp16, or none
  // Or the identity as x0 · wp + bp: x0 tokens [batch, height * width, 64], wp [64, channels],
  // bp [channels], all fp16 (projected = 1).
  const void* x0 = nullptr;
  const void* wp = nullptr;
  const void* bp = nullptr;
  int projected = 0;
  int batch = 0, channels = 0, height = 0, width = 0, relu = 0;
  const void* w = nullptr;     // [classes, channels] fp16
  const void* bias = nullptr;  // [classes], fp32 or fp16 (bias_f32)
  void* y = nullptr;           // [batch, classes, height, width], fp32 or fp16 (y_f32)
  int classes = 0, nt = 1, bias_f32 = 0, y_f32 = 0;
  int ident_off = 0, a_off = 0, w_off = 0, stage_off = 0, stage_bytes = 0, smem_bytes = 0;
  int x0_off = 0, wp_off = 0;
  int wt_off = 0, wt_bytes = 0;  // the wgmma kernel's interpolation weights (RscWgmmaLayout)
};

// TMA maps (runtime/cuda/tensor_map.h) of what the kernels stage, 128-byte swizzled boxes of 64
// channels: per banded input a source row's `cols` columns (coordinates: channel, column,
// b · in_h + row), the identity's or x0's 64 pixels (channel, token), W's 32 nt rows and Wp's
// 64 (channel, row). The wgmma kernel's inputs, identity and x0 are token windows instead
// (channel, column, row, image): a window's rows x cols, the identity's and x0's 8 x 8 pixels.
struct RscMaps {
  CUtensorMap in[kRscMaxBanded];
  CUtensorMap ident, x0, w, wp;
};

// The mma.sync kernel's tiles, one per (output row, kRscTileX pixels), each walking every channel
// chunk (the wgmma kernel's 8 x 8 tiles number fewer).
inline int64_t resize_sum_conv_tiles(int64_t batch, int64_t height, int64_t width) {
  return (width + kRscTileX - 1) / kRscTileX * batch * height;
}

void launch_resize_sum_conv(const ResizeSumConvParams& p, const RscMaps& maps, CudaStream stream);

// The wgmma kernel (resize_sum_conv_wgmma.cu) on an RscWgmmaLayout of pattern `pattern`: in[s]
// the input in slot s with its window's rows, cols and offset; wp_off, ident_off and w_off
// inside a stage (stage_off 0); wt_off, wt_bytes and x0_off from the base.
void launch_resize_sum_conv_wgmma(const ResizeSumConvParams& p, const RscMaps& maps, int pattern, CudaStream stream);
// On a Hopper GPU, unless a test turned the wgmma kernel off.
bool resize_sum_conv_wgmma_allowed();
// For the GPU tests, which run every case on both kernels: false sends every launch (in this
// process, from now on) to the mma.sync kernel.
void set_resize_sum_conv_wgmma_allowed(bool allowed);

}  // namespace kiln::spatial
