// CUDA kernels of the linear family: MatMul (numpy broadcasting of batch dims), Gemm and
// FusedMatMul, through cuBLASLt with fp32 accumulation (fp32 without TF32 unless the session allows it).
#pragma once
#include <cstdint>

#include "ir/dtype.h"
#include "ops/linear/epilogue.h"
#include "ops/op.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln {
class CudaSession;
}

namespace kiln::linear {

// What cuBLASLt applies to the product before writing D (its epilogue): a bias broadcast over
// the rows of row-major D (a length-n vector of D's dtype), then optionally ReLU or GELU. cuBLASLt
// adds beta * C before the epilogue, and its GELU is the tanh approximation.
enum class GemmEpilogue { kNone, kBias, kReluBias, kGeluTanhBias };

// Row-major D[M,N] = epilogue(alpha * op(A) op(B) + beta * C), batch times with element strides
// between batches (0: shared). A is stored K×M when trans_a, else M×K, with row stride lda; B
// likewise. D is C (in place) unless d is set; C and D share ldc and stride_c.
struct GemmCall {
  DType dtype = DType::kF32;                // A's and B's
  DType out_dtype = DType::kUndefined;      // C's, D's and the bias's: dtype, or f32 with f16 A/B
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
  void* d = nullptr;  // the output when it is not C; C is then only read
  GemmEpilogue epilogue = GemmEpilogue::kNone;
  const void* bias = nullptr;  // n elements of the output type, for the bias epilogues
  DType output() const { return out_dtype == DType::kUndefined ? dtype : out_dtype; }
};
void gemm_lt(CudaSession& session, const GemmCall& call);
// Like gemm_lt, but when cuBLASLt has no algorithm for the call's epilogue it runs nothing and
// returns false, so the caller can apply the epilogue itself.
bool gemm_lt_epilogue(CudaSession& session, const GemmCall& call);

// y[r, j] = act(y[r, j] (+ bias[j])) (+ residual[r, j]) in place over rows × n elements of
// dtype (f32/f16, math in f32); bias and residual may be null (epilogue.cu).
void launch_epilogue(EpilogueActivation act, DType dtype, void* y, const void* bias, const void* residual,
                     int64_t rows, int64_t n, CudaStream stream);

void matmul_cuda(CudaKernelContext& ctx);
void gemm_cuda(CudaKernelContext& ctx);
void einsum_cuda(CudaKernelContext& ctx);  // two operands (einsum_cuda.cpp)
void fused_matmul_cuda(CudaKernelContext& ctx);  // kiln.FusedMatMul (fused_matmul_cuda.cpp)

}  // namespace kiln::linear
