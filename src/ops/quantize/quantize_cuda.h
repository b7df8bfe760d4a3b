// CUDA kernels of the quantize family: QuantizeLinear, DequantizeLinear (quantize_linear_cuda.cpp),
// kiln.Int8MatMul (int8_matmul_cuda.cpp) and kiln.Int8Conv (int8_conv_cuda.cpp); their int8 GEMM
// is int8_gemm_lt_cuda.cpp.
#pragma once
#include <cstdint>

#include <optional>

#include "ops/op.h"
#include "ops/quantize/int8_matmul.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln {
class CudaSession;
}

namespace kiln::quant {

void quantize_linear_cuda(CudaKernelContext& ctx);
void dequantize_linear_cuda(CudaKernelContext& ctx);
void int8_matmul_cuda(CudaKernelContext& ctx);
void int8_conv_cuda(CudaKernelContext& ctx);  // int8_conv_cuda.cpp

// The int8 GEMM's operands are padded to multiples of 16 along K and N (its "TN" form's rule).
inline constexpr int64_t kInt8Pad = 16;
inline int64_t int8_padded(int64_t v) { return (v + kInt8Pad - 1) / kInt8Pad * kInt8Pad; }

// Input i as an Int8Operand, or nullopt when the node leaves it out (int8_matmul.h's CPU form).
inline std::optional<Int8Operand> int8_operand_if(const CudaKernelContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return std::nullopt;
  return Int8Operand{ctx.input(i).dtype, ctx.input(i).dims};
}

// Strided batches of an int8 GEMM: element offsets between batches (0: shared operand).
struct Int8Batch {
  int64_t count = 1, stride_x = 0, stride_w = 0, stride_acc = 0;
};

// acc [m, np] (int32, row-major) = xq [m, kp] · wt [np, kp]ᵀ (int8, row-major) on cuBLASLt's
// int8 tensor-core kernels (CUBLAS_COMPUTE_32I, the "TN" form). np and kp must be multiples of
// 16 and every pointer 16-byte aligned; `batch` repeats it at strides (multiples of 16). False
// (nothing run) when cuBLASLt has no algorithm.
bool int8_gemm_lt(CudaSession& session, const int8_t* xq, const int8_t* wt, int32_t* acc, int64_t m, int64_t np,
                  int64_t kp, const Int8Batch& batch = {});

}  // namespace kiln::quant
