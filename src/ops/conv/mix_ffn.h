// MixFFN (domain "kiln"): the second half of a SegFormer block in one node — LayerNorm, fc1, the
// 3×3 depthwise conv with its activation, fc2 and the residual add — which passes/fuse_mix_ffn
// makes on fp16 engines, so that the four-times-wider hidden tokens never reach memory:
//
//   X   [B, N = height·width, C]  the residual stream, float32 (an fp16 engine's island) or float16
//   S, Bn [C]                     LayerNorm's Scale and B, float16
//   W1  [C, Hd], B1 [Hd]          fc1, float16
//   Wd  [Hd, 1, 3, 3], Bd [Hd]    the depthwise conv (stride 1, pads 1), float16
//   W2  [Hd, C]                   fc2, float16
//   B2  [C]                       fc2's bias, X's type
//   Y   [B, N, C]                 X's type
//
//   S2, Bn2 [C]                   optional, together: the next LayerNorm's Scale and B, float16
//
//   L = LayerNorm(X)·S + Bn   H = L·W1 + B1   D = act(dwconv3x3(H) + Bd)   Y = D·W2 + B2 + X
//   with S2 and Bn2 (fuse_mix_ffn_norm: the LayerNorm that ends a SegFormer stage):
//   Y = LayerNorm(D·W2 + B2 + X)·S2 + Bn2, float16 (the mixed LayerNorm's output), the sum
//   rounded to X's type first as the unfused graph stores it
//
// L, H and D are float16, rounded where the nodes it replaces round them (LayerNormalization,
// kiln.FusedMatMul, kiln.DepthwiseConvNHWC, kiln.FusedMatMul with X as its residual); the CPU
// reference runs those four references in turn, so the fused node computes exactly what they did.
// Attributes: height, width (required: the image the tokens form), epsilon (LayerNorm's,
// default 1e-5), activation (DepthwiseConvNHWC's: "none", "relu", "gelu", "gelu_tanh"),
// norm_epsilon (the output LayerNorm's, default 1e-5).
#pragma once
#include <cstdint>

#include "ops/op.h"

namespace kiln::conv {

inline constexpr const char* kMixFfnOp = "MixFFN";

// Input slots.
enum MixFfnInput : int {
  kMixX = 0, kMixScale, kMixShift, kMixW1, kMixB1, kMixWd, kMixBd, kMixW2, kMixB2, kMixInputs,
  kMixNormScale = kMixInputs, kMixNormShift, kMixInputsNormed
};

// Whether the CUDA kernel (mix_ffn.cu) takes these widths: C in {32, 64, 128} (its fc2 sums for
// a whole tile stay in registers) and Hd a multiple of 64 (its hidden chunk). fuse_mix_ffn fuses
// nothing else, so every MixFFN node a build makes has a kernel.
bool mix_ffn_fits(int64_t channels, int64_t hidden);

// Whether the kernel that ends in the output LayerNorm (mix_ffn_wgmma.cu, Hopper) takes C: 64 or
// 128. fuse_mix_ffn_norm fuses nothing else.
inline bool mix_ffn_norm_fits(int64_t channels) { return channels == 64 || channels == 128; }

// Checks the inputs' types and shapes (as far as known) and the attributes; returns Y's type.
ValueType mix_ffn_type(const OpContextBase& ctx, const std::vector<ValueType>& inputs);

// Whether the node ends in the output LayerNorm (S2 and Bn2 given).
inline bool mix_ffn_normed(size_t inputs) { return inputs == size_t(kMixInputsNormed); }

}  // namespace kiln::conv
