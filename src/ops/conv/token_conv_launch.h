// Launcher of kiln.TokenConv's Hopper kernel (token_conv_wgmma.cu), shared with its host side
// (token_conv_cuda.cpp) and the GPU tests.
#pragma once
#include <cstdint>

#include "runtime/cuda/device_tensor.h"

namespace kiln::conv {

struct TokenConvParams {
  const void* x = nullptr;     // [B, H·W, C] float16
  const void* w = nullptr;     // [kh·kw·C, Co] float16, row (i·kw + j)·C + c
  const void* bias = nullptr;  // [Co] float32 (bias_f32) or float16, or null
  void* y = nullptr;           // [B, OH·OW, Co] float32 (y_f32) or float16
  // The LayerNorm epilogue where scale is set: Scale and LB (or null) [Co] of Y's type, Co 64 or
  // 128 (one block covers a token's channels).
  const void* scale = nullptr;
  const void* lb = nullptr;
  float epsilon = 1e-5f;
  int64_t batch = 0, height = 0, width = 0, channels = 0, out_channels = 0, out_h = 0, out_w = 0;
  int kh = 1, kw = 1, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1, pad_top = 0, pad_left = 0;
  bool bias_f32 = false, y_f32 = false;
};

// Whether the kernel runs p: C and Co multiples of 64 (Co 64 or 128 with the LayerNorm), strides
// 1..8, at most 65535 pictures, the TMA maps' ranges, 16-byte aligned pointers, a Hopper GPU.
bool token_conv_runs(const TokenConvParams& p);
void launch_token_conv(const TokenConvParams& p, CudaStream stream);

// The kernel's variants: two warpgroups (8 × 16 pixels) and two 64-channel output tiles a block
// (a second launch of one tile a block takes the last 64 channels where Co is an odd number of
// 64s), or one tile, or one warpgroup (4 × 16 pixels) and one tile. kAuto takes the first whose
// grid has a block for every SM. With the LayerNorm a block holds all Co channels: two tiles at
// Co 128 whatever the grid (the variant asked for is then ignored), one at 64.
enum class TokenConvVariant { kAuto, kTwoTiles, kOneTile, kOneWarpgroup };
// For the GPU tests, which run every variant on small cases: launches from now on (in this
// process) take v (kTwoTiles is kOneTile where Co is 64).
void set_token_conv_variant(TokenConvVariant v);

}  // namespace kiln::conv
