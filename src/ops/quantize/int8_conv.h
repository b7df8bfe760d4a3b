// kiln.Int8Conv: a 2-D convolution on int8 tensor cores, what fuse_int8_conv makes of
// QuantizeLinear → DequantizeLinear → Conv | kiln.FusedConv with int8 weights:
//
//   xq        = saturate_int8(round_half_even(X / x_scale))        (float32 quotient; padding is 0)
//   acc[n, o, p] = Σ_{c, i, j} xq[n, c, window(p, i, j)] · W[o, c, i, j]      (exact int32)
//   Y[n, o, p]   = act(float(acc) · (x_scale · w_scale[o]) + B[o] [+ Z[n, o, p]])
//
// X [N, C, H, W] float32/float16; x_scale one float32; W int8 [O, C, kh, kw] (group 1);
// w_scale float32 [O] or one element; optional B [O] and Z (Y's shape), typed as Int8MatMul's
// bias and residual (Y takes B's type: X's, or float32 with float16 X); Conv's
// window attributes (kernel_shape, strides, pads, dilations, auto_pad; group must be 1) and
// FusedConv's `activation`, applied after Z as FusedConv does. Each float step rounds once, in
// the order of int8_math.h, so the CPU reference and the CUDA kernel agree bit for bit where the
// activation is none or relu. C·kh·kw ≤ kInt8MaxK.
#pragma once
#include <optional>

#include "ops/quantize/int8_matmul.h"

namespace kiln::quant {

inline constexpr const char* kInt8ConvOp = "Int8Conv";

// The geometry both kernels need (2-D; pads are the leading ones, ends follow from out).
struct Int8ConvProblem {
  int64_t n = 0, c = 0, o = 0, h = 0, w = 0, oh = 0, ow = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, ph = 0, pw = 0;
  bool per_channel = false;
  DType y = DType::kUndefined;
  int64_t k() const { return c * kh * kw; }   // GEMM depth
  int64_t p() const { return oh * ow; }       // output pixels per image
  Dims out() const { return {n, o, oh, ow}; }
};

Int8ConvProblem int8_conv_problem(const OpContextBase& ctx, const Int8Operand& x, const Int8Operand& x_scale,
                                  const Int8Operand& w, const Int8Operand& w_scale,
                                  const std::optional<Int8Operand>& bias, const std::optional<Int8Operand>& z);

}  // namespace kiln::quant
