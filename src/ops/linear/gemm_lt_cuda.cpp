// One row-major GEMM (optionally strided-batched) through cuBLASLt. cuBLASLt is column-major,
// so the row-major C = op(A) op(B) runs as the column-major C^T = op(B)^T op(A)^T: B's storage
// is the first operand, A's the second, and nothing is copied.
#include <algorithm>

#include "ops/linear/linear_cuda.h"
#include "runtime/cuda/cuda_session.h"
#include "runtime/cuda/library_check.h"

namespace kiln::linear {
namespace {

constexpr size_t kWorkspace = size_t(32) << 20;

// RAII for the three cuBLASLt descriptor kinds.
struct Layout {
  cublasLtMatrixLayout_t h = nullptr;
  Layout(cudaDataType_t t, int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride) {
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&h, t, uint64_t(rows), uint64_t(cols), ld));
    if (batch > 1) {
      int32_t count = int32_t(batch);
      CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(h, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)));
      CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(h, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                                                    sizeof(stride)));
    }
  }
  ~Layout() { cublasLtMatrixLayoutDestroy(h); }
};
struct Desc {
  cublasLtMatmulDesc_t h = nullptr;
  Desc(cublasComputeType_t compute) { CUBLAS_CHECK(cublasLtMatmulDescCreate(&h, compute, CUDA_R_32F)); }
  ~Desc() { cublasLtMatmulDescDestroy(h); }
};
struct Pref {
  cublasLtMatmulPreference_t h = nullptr;
  Pref() { CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&h)); }
  ~Pref() { cublasLtMatmulPreferenceDestroy(h); }
};

uint32_t alignment_of(const void* p) {
  uintptr_t v = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && (v % a)) a >>= 1;
  return a;
}

}  // namespace

void gemm_lt(CudaSession& session, const GemmCall& g) {
  if (g.m == 0 || g.n == 0 || g.batch == 0) return;
  KILN_ASSERT(g.dtype == DType::kF32 || g.dtype == DType::kF16);
  KILN_ASSERT(g.batch <= 0x7fffffff && g.k > 0);  // callers fill k == 0 products themselves
  const cudaDataType_t t = g.dtype == DType::kF32 ? CUDA_R_32F : CUDA_R_16F;
  const cublasComputeType_t compute =
      g.dtype == DType::kF32 && session.allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  Desc desc(compute);
  cublasOperation_t op_first = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;   // B's storage
  cublasOperation_t op_second = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;  // A's storage
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc.h, CUBLASLT_MATMUL_DESC_TRANSA, &op_first, sizeof(op_first)));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc.h, CUBLASLT_MATMUL_DESC_TRANSB, &op_second, sizeof(op_second)));
  // Column-major views of the row-major storage.
  Layout first(t, g.trans_b ? g.k : g.n, g.trans_b ? g.n : g.k, g.ldb, g.batch, g.stride_b);
  Layout second(t, g.trans_a ? g.m : g.k, g.trans_a ? g.k : g.m, g.lda, g.batch, g.stride_a);
  Layout out(t, g.n, g.m, g.ldc, g.batch, g.stride_c);

  Pref pref;
  size_t ws = kWorkspace;
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
  uint32_t al_first = alignment_of(g.b), al_second = alignment_of(g.a), al_c = alignment_of(g.c);
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_first, sizeof(al_first)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_second, sizeof(al_second)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_c, sizeof(al_c)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_c, sizeof(al_c)));

  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(session.cublas(), desc.h, first.h, second.h, out.h, out.h,
                                              pref.h, 1, &result, &found));
  if (found == 0)
    fail(ErrorCode::kInternal, "internal error: cuBLASLt found no algorithm for a " + std::to_string(g.m) + "x" +
                                   std::to_string(g.n) + "x" + std::to_string(g.k) + " GEMM");
  void* workspace = session.workspace(kWorkspace);
  CUBLAS_CHECK(cublasLtMatmul(session.cublas(), desc.h, &g.alpha, g.b, first.h, g.a, second.h, &g.beta, g.c,
                              out.h, g.c, out.h, &result.algo, workspace, kWorkspace, session.stream()));
}

}  // namespace kiln::linear
