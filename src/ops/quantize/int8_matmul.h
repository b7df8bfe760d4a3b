// kiln.Int8MatMul: a linear layer on int8 tensor cores, what fuse_int8_matmul makes of
// QuantizeLinear → DequantizeLinear → MatMul | kiln.FusedMatMul with int8 weights:
//
//   xq[m, k]  = saturate_int8(round_half_even(X[m, k] / x_scale))      (float32 quotient)
//   acc[m, n] = Σ_k xq[m, k] · W[n, k]                                  (exact int32)
//   Y[m, n]   = act(float(acc) · (x_scale · w_scale[n]) + bias[n]) [+ residual[m, n]]
//
// Inputs: X [..., K] float32/float16; x_scale one float32 (> 0); W int8 [N, K] — the weight
// transposed, K contiguous, the operand order int8 tensor cores read — ; w_scale float32 [N]
// or one element; optional bias [N] and residual (Y's shape). Attribute `activation` as
// FusedMatMul's. Y has bias's type (X's without a bias): X's, or float32 with float16 X — the
// mixed form fp16 engines write float32 islands with —; the residual has Y's type. Every step
// rounds once, in float32, in this
// order (x_scale · w_scale[n] first), so the CPU reference and the CUDA kernel agree bit for
// bit where the activation is none or relu. Zero points are 0 by construction: the pass only
// fuses symmetric quantization. float(acc) is exact while K ≤ 1024 (|acc| ≤ K·128·128 ≤ 2^24).
#pragma once
#include <cstdint>

namespace kiln::quant {

inline constexpr const char* kInt8MatMulOp = "Int8MatMul";
// |acc| ≤ K · 128 · 128 (a saturated xq and an explicit model's weight may both be −128) must fit int32.
inline constexpr int64_t kInt8MaxK = 131071;

}  // namespace kiln::quant

#include <optional>

#include "ops/op.h"

namespace kiln::quant {

// An operand's type and concrete dims, as the CPU and CUDA kernels both see them.
struct Int8Operand {
  DType dtype = DType::kUndefined;
  Dims dims;
};

// Y's type from X's, bias's and the residual's (int8_matmul.h's rule, Int8Conv's too); a
// mismatch is a model error.
DType int8_output_dtype(const OpContextBase& ctx, DType x, std::optional<DType> bias, std::optional<DType> residual);

// Shape inference's checks that Int8MatMul and Int8Conv share: X, x_scale, W and w_scale given,
// X float32/float16, W int8, the scales float32; returns Y's type (int8_output_dtype).
DType int8_infer_types(const InferContext& ctx);

// Input i as an Int8Operand, or nullopt when the node leaves it out.
std::optional<Int8Operand> int8_operand_if(const KernelContext& ctx, size_t i);

// The problem a kiln.Int8MatMul node computes: rows m = numel(X) / K, n, k and Y's dims and type.
struct Int8MatMulProblem {
  int64_t m = 0, n = 0, k = 0;
  Dims out;
  DType y = DType::kUndefined;
  bool per_channel = false;  // w_scale has N elements (else one)
};

// Checks the operands (bias and residual may be absent) as both kernels need them; a mismatch
// is a model error naming the operand, an unsupported type kUnsupported.
Int8MatMulProblem int8_matmul_problem(const OpContextBase& ctx, const Int8Operand& x, const Int8Operand& x_scale,
                                      const Int8Operand& w, const Int8Operand& w_scale,
                                      const std::optional<Int8Operand>& bias,
                                      const std::optional<Int8Operand>& residual);

}  // namespace kiln::quant
