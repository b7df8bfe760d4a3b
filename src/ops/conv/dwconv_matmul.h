// DwConvMatMul (domain "kiln"): a SegFormer MLP's depthwise conv and fc2 in one node — the 3×3
// depthwise conv with its activation, fc2 and the residual add — which passes/fuse_dwconv_matmul
// makes on fp16 engines for Hopper where MixFFN (mix_ffn.h) does not fit, so that the conv's
// four-times-wider output never reaches memory:
//
//   H   [B, N = height·width, Hd]  fc1's output, float16
//   Wd  [Hd, 1, 3, 3], Bd [Hd]     the depthwise conv (stride 1, pads 1), float16
//   W2  [Hd, C]                    fc2, float16
//   B2  [C]                        fc2's bias, X's type
//   X   [B, N, C]                  the residual, float32 (an fp16 engine's island) or float16
//   Y   [B, N, C]                  X's type
//
//   D = act(dwconv3x3(H) + Bd)   Y = D·W2 + B2 + X
//
// D is float16, rounded where kiln.DepthwiseConvNHWC rounds it; the CPU reference runs the two
// replaced nodes' references in turn (DepthwiseConvNHWC, FusedMatMul with X as its residual).
// Attributes: height, width (required: the image the tokens form), activation
// (DepthwiseConvNHWC's: "none", "relu", "gelu", "gelu_tanh").
#pragma once
#include <cstdint>

#include "ops/op.h"

namespace kiln::conv {

inline constexpr const char* kDwConvMatMulOp = "DwConvMatMul";

enum DwConvMatMulInput : int { kDmH = 0, kDmWd, kDmBd, kDmW2, kDmB2, kDmX, kDmInputs };

// Whether the CUDA kernel (dwconv_matmul_wgmma.cu, Hopper) takes these widths: C = 320 (its fc2
// sums for a whole tile stay in registers) and Hd a multiple of 64 (its hidden chunk).
// fuse_dwconv_matmul fuses nothing else.
inline bool dwconv_matmul_fits(int64_t channels, int64_t hidden) {
  return channels == 320 && hidden >= 64 && hidden % 64 == 0;
}

// Checks the inputs' types and shapes (as far as known) and the attributes; returns Y's type.
ValueType dwconv_matmul_type(const OpContextBase& ctx, const std::vector<ValueType>& inputs);

}  // namespace kiln::conv
