// CUDA kernels of the linear family: MatMul (numpy broadcasting of batch dims) and Gemm, both
// through cuBLASLt with fp32 accumulation (fp32 without TF32 unless the session allows it).
#pragma once
#include <cstdint>

#include "ir/dtype.h"
#include "ops/op.h"

namespace kiln {
class CudaSession;
}

namespace kiln::linear {

// Row-major C[M,N] = alpha * op(A) op(B) + beta * C, batch times with element strides between
// batches (0: shared). A is stored K×M when trans_a, else M×K, with row stride lda; B likewise.
struct GemmCall {
  DType dtype = DType::kF32;
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  const void* a = nullptr;
  int64_t lda = 0, stride_a = 0;
  const void* b = nullptr;
  int64_t ldb = 0, stride_b = 0;
  void* c = nullptr;
  int64_t ldc = 0, stride_c = 0;
  int64_t batch = 1;
  float alpha = 1.f, beta = 0.f;
};
void gemm_lt(CudaSession& session, const GemmCall& call);

void matmul_cuda(CudaKernelContext& ctx);
void gemm_cuda(CudaKernelContext& ctx);
void einsum_cuda(CudaKernelContext& ctx);  // two operands (einsum_cuda.cpp)

}  // namespace kiln::linear
