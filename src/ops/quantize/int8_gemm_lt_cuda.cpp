// The int8 GEMM of kiln.Int8MatMul on cuBLASLt's tensor-core (IMMA) kernels. cuBLASLt is
// column-major: row-major acc [m, np] is the column-major np × m matrix
//   acc^T = op_T(wt storage: column-major kp × np) · op_N(xq storage: column-major kp × m),
// the "TN" form int8 kernels require, with every leading dimension a multiple of 16 bytes
// (the callers pad K and N) and int32 alpha/beta (CUBLAS_COMPUTE_32I, scale type int32).
#include <array>
#include <cstring>
#include <string>

#include "ops/quantize/quantize_cuda.h"
#include "runtime/cuda/candidate_timer.h"
#include "runtime/cuda/cublaslt_handles.h"
#include "runtime/cuda/cuda_session.h"
#include "runtime/cuda/library_check.h"

namespace kiln::quant {
namespace {

constexpr size_t kWorkspace = size_t(32) << 20;

using cublaslt::alignment_of;
using cublaslt::Layout;
using cublaslt::Pref;

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

}  // namespace

bool int8_gemm_lt(CudaSession& session, const int8_t* xq, const int8_t* wt, int32_t* acc, int64_t m, int64_t np,
                  int64_t kp, const Int8Batch& b) {
  KILN_ASSERT(np % 16 == 0 && kp % 16 == 0 && aligned16(xq) && aligned16(wt) && aligned16(acc));
  KILN_ASSERT(b.count >= 1 && b.count <= 0x7fffffff && b.stride_x % 16 == 0 && b.stride_w % 16 == 0 &&
              b.stride_acc % 4 == 0);
  if (m == 0 || np == 0) return true;
  cublaslt::Desc desc(CUBLAS_COMPUTE_32I, CUDA_R_32I);
  const cublasOperation_t op_t = CUBLAS_OP_T, op_n = CUBLAS_OP_N;
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc.h, CUBLASLT_MATMUL_DESC_TRANSA, &op_t, sizeof(op_t)));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc.h, CUBLASLT_MATMUL_DESC_TRANSB, &op_n, sizeof(op_n)));
  Layout first(CUDA_R_8I, kp, np, kp, b.count, b.stride_w), second(CUDA_R_8I, kp, m, kp, b.count, b.stride_x),
      out(CUDA_R_32I, np, m, np, b.count, b.stride_acc);
  Pref pref;
  size_t ws = kWorkspace;
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
  const uint32_t al_w = alignment_of(wt), al_x = alignment_of(xq), al_acc = alignment_of(acc);
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_w, sizeof(al_w)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_x, sizeof(al_x)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_acc, sizeof(al_acc)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_acc, sizeof(al_acc)));
  const int32_t alpha = 1, beta = 0;
  std::string key = session.tuning_prefix() + "/gemm_i8/" + std::to_string(m) + "," + std::to_string(np) + "," +
                    std::to_string(kp);
  for (uint32_t a : {al_w, al_x, al_acc}) key += "/a" + std::to_string(a);
  if (b.count > 1)
    key += "/b" + std::to_string(b.count) + "," + std::to_string(b.stride_x) + "," + std::to_string(b.stride_w) + "," +
           std::to_string(b.stride_acc);
  cublasLtMatmulAlgo_t algo{};
  bool have = false;
  if (session.tuning)
    if (auto hit = session.tuning->find(key); hit && hit->size() == sizeof algo) {
      std::memcpy(&algo, hit->data(), sizeof algo);
      cublasLtMatmulHeuristicResult_t check{};
      have = cublasLtMatmulAlgoCheck(session.cublas(), desc.h, first.h, second.h, out.h, out.h, &algo, &check) ==
                 CUBLAS_STATUS_SUCCESS &&
             check.workspaceSize <= kWorkspace;
    }
  void* workspace = session.workspace(kWorkspace);
  auto run = [&](const cublasLtMatmulAlgo_t& a) {
    return cublasLtMatmul(session.cublas(), desc.h, &alpha, wt, first.h, xq, second.h, &beta, acc, out.h, acc, out.h,
                          &a, workspace, kWorkspace, session.stream());
  };
  if (!have) {
    constexpr int kCandidates = 8;
    std::array<cublasLtMatmulHeuristicResult_t, kCandidates> results{};
    int found = 0;
    const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(
        session.cublas(), desc.h, first.h, second.h, out.h, out.h, pref.h, session.tune ? kCandidates : 1,
        results.data(), &found);
    if (status == CUBLAS_STATUS_NOT_SUPPORTED) return false;
    CUBLAS_CHECK(status);
    if (found == 0) return false;
    int pick = 0;
    if (session.tune && found > 1)  // acc is only written: timing into it is harmless
      pick = std::max(0, cuda::fastest_candidate(session.stream(), found, [&](int i) {
                           return run(results[size_t(i)].algo) == CUBLAS_STATUS_SUCCESS;
                         }));
    algo = results[size_t(pick)].algo;
    if (session.tuning) session.tuning->put(key, std::string(reinterpret_cast<const char*>(&algo), sizeof algo));
  }
  CUBLAS_CHECK(run(algo));
  return true;
}

}  // namespace kiln::quant
