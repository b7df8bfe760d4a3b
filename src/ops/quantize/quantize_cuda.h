// CUDA kernels of the quantize family: QuantizeLinear, DequantizeLinear (quantize_linear_cuda.cpp)
// and kiln.Int8MatMul (int8_matmul_cuda.cpp, its GEMM in int8_gemm_lt_cuda.cpp).
#pragma once
#include <cstdint>

#include "ops/op.h"

namespace kiln {
class CudaSession;
}

namespace kiln::quant {

void quantize_linear_cuda(CudaKernelContext& ctx);
void dequantize_linear_cuda(CudaKernelContext& ctx);
void int8_matmul_cuda(CudaKernelContext& ctx);

// acc [m, np] (int32, row-major) = xq [m, kp] · wt [np, kp]ᵀ (int8, row-major) on cuBLASLt's
// int8 tensor-core kernels (CUBLAS_COMPUTE_32I, the "TN" form). np and kp must be multiples of
// 16 and every pointer 16-byte aligned. False (nothing run) when cuBLASLt has no algorithm.
bool int8_gemm_lt(CudaSession& session, const int8_t* xq, const int8_t* wt, int32_t* acc, int64_t m, int64_t np,
                  int64_t kp);

}  // namespace kiln::quant
