// One row-major GEMM (optionally strided-batched) through cuBLASLt. cuBLASLt is column-major,
// so the row-major C = op(A) op(B) runs as the column-major C^T = op(B)^T op(A)^T: B's storage
// is the first operand, A's the second, and nothing is copied. In that view row-major D's
// columns are the column-major D's rows, so a per-column bias is exactly cuBLASLt's bias vector
// (length = rows of the column-major D).
#include <algorithm>
#include <array>
#include <optional>
#include <cstring>
#include <string>

#include "ops/linear/linear_cuda.h"
#include "runtime/cuda/candidate_timer.h"
#include "runtime/cuda/cublaslt_handles.h"
#include "runtime/cuda/cuda_session.h"
#include "runtime/cuda/library_check.h"

namespace kiln::linear {
namespace {

constexpr size_t kWorkspace = size_t(32) << 20;

using cublaslt::alignment_of;
using cublaslt::Layout;
using cublaslt::Pref;

// Everything that decides which algorithms apply and how fast they run.
std::string tuning_key(const CudaSession& session, const GemmCall& g, cublasComputeType_t compute,
                       std::initializer_list<uint32_t> alignments) {
  std::string k = session.tuning_prefix() + "/gemm/" + dtype_name(g.dtype) + "/c" + std::to_string(int(compute));
  if (g.output() != g.dtype) k += std::string("/out_") + dtype_name(g.output());
  for (int64_t v : {int64_t(g.trans_a), int64_t(g.trans_b), g.m, g.n, g.k, g.batch, g.lda, g.ldb, g.ldc,
                    g.stride_a, g.stride_b, g.stride_c, int64_t(g.beta != 0.f)})
    k += "," + std::to_string(v);
  for (uint32_t a : alignments) k += "/a" + std::to_string(a);
  // Epilogues and a separate D choose among other kernels; plain GEMMs keep their old keys.
  if (g.epilogue != GemmEpilogue::kNone)
    k += "/e" + std::to_string(int(g.epilogue)) + "/ab" + std::to_string(alignment_of(g.bias));
  if (g.d && g.d != g.c) k += "/d" + std::to_string(alignment_of(g.d));
  return k;
}

cublasLtEpilogue_t lt_epilogue(GemmEpilogue e) {
  switch (e) {
    case GemmEpilogue::kBias: return CUBLASLT_EPILOGUE_BIAS;
    case GemmEpilogue::kReluBias: return CUBLASLT_EPILOGUE_RELU_BIAS;
    case GemmEpilogue::kGeluTanhBias: return CUBLASLT_EPILOGUE_GELU_BIAS;
    case GemmEpilogue::kNone: break;
  }
  return CUBLASLT_EPILOGUE_DEFAULT;
}

// The algorithm for this problem: from the tuning cache; else, when tuning, the fastest of the
// heuristic's top candidates timed on the real operands; else the heuristic's first. The choice
// is stored so every later call (and the engine file) uses the same kernel. Nothing when the
// heuristic has no algorithm.
std::optional<cublasLtMatmulAlgo_t> choose_algo(CudaSession& session, const GemmCall& g, cublasLtMatmulDesc_t desc,
                                 cublasLtMatrixLayout_t first, cublasLtMatrixLayout_t second,
                                 cublasLtMatrixLayout_t out, cublasLtMatmulPreference_t pref, const std::string& key) {
  cublasLtMatmulAlgo_t algo{};
  if (session.tuning)
    if (auto hit = session.tuning->find(key); hit && hit->size() == sizeof algo) {
      std::memcpy(&algo, hit->data(), sizeof algo);
      cublasLtMatmulHeuristicResult_t check{};
      if (cublasLtMatmulAlgoCheck(session.cublas(), desc, first, second, out, out, &algo, &check) ==
              CUBLAS_STATUS_SUCCESS && check.workspaceSize <= kWorkspace)
        return algo;
    }
  // 32, not 8: the heuristic's later candidates include better tiles for SegFormer-B2 stage 2's
  // narrow GEMMs (c269 against c270, B2 b8: q_proj 26.0-26.6 -> 24.2-25.7 us, FusedMatMul 1.429
  // -> 1.412 ms over the engine, kiln bench 8.791 -> 8.778-8.787 ms); the build still takes 2 s.
  constexpr int kCandidates = 32;
  std::array<cublasLtMatmulHeuristicResult_t, kCandidates> results{};
  int found = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(session.cublas(), desc, first, second, out, out, pref,
                                                               session.tune ? kCandidates : 1, results.data(), &found);
  // An epilogue this configuration lacks may be refused outright rather than with no candidates.
  if (status == CUBLAS_STATUS_NOT_SUPPORTED && g.epilogue != GemmEpilogue::kNone) return std::nullopt;
  CUBLAS_CHECK(status);
  if (found == 0) return std::nullopt;
  int pick = 0;
  if (session.tune && found > 1) {
    // Time into a scratch C when C is also the output and an input (beta != 0), so the real C
    // stays intact; a separate D is the real output and may be overwritten.
    const size_t c_elems = size_t((g.batch - 1) * g.stride_c + (g.m - 1) * g.ldc + g.n);
    DeviceTensor scratch_c;
    const void* c = g.c;
    void* d = g.d ? g.d : g.c;
    if (g.beta != 0.f && !g.d) {
      scratch_c = device_empty(g.output(), {int64_t(c_elems)}, session.stream());
      c = d = scratch_c.data();
    }
    void* workspace = session.workspace(kWorkspace);
    pick = cuda::fastest_candidate(session.stream(), found, [&](int i) {
      return cublasLtMatmul(session.cublas(), desc, &g.alpha, g.b, first, g.a, second, &g.beta, c, out, d, out,
                            &results[size_t(i)].algo, workspace, kWorkspace, session.stream()) == CUBLAS_STATUS_SUCCESS;
    });
    if (pick < 0) pick = 0;
  }
  algo = results[size_t(pick)].algo;
  if (session.tuning) session.tuning->put(key, std::string(reinterpret_cast<const char*>(&algo), sizeof algo));
  return algo;
}

// Runs the call; false (nothing run) when cuBLASLt has no algorithm for it.
bool run_gemm(CudaSession& session, const GemmCall& g) {
  if (g.m == 0 || g.n == 0 || g.batch == 0) return true;
  KILN_ASSERT(g.dtype == DType::kF32 || g.dtype == DType::kF16);
  KILN_ASSERT(g.output() == g.dtype || (g.dtype == DType::kF16 && g.output() == DType::kF32));
  KILN_ASSERT(g.batch <= 0x7fffffff && g.k > 0);  // callers fill k == 0 products themselves
  const cudaDataType_t t = g.dtype == DType::kF32 ? CUDA_R_32F : CUDA_R_16F;
  const cublasComputeType_t compute =
      g.dtype == DType::kF32 && session.allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  cublaslt::Desc desc(compute, CUDA_R_32F);
  cublasOperation_t op_first = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;   // B's storage
  cublasOperation_t op_second = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;  // A's storage
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc.h, CUBLASLT_MATMUL_DESC_TRANSA, &op_first, sizeof(op_first)));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc.h, CUBLASLT_MATMUL_DESC_TRANSB, &op_second, sizeof(op_second)));
  if (g.epilogue != GemmEpilogue::kNone) {
    // The bias has D's type (CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE's default for fp32/fp16 D).
    KILN_ASSERT(g.bias);
    const uint32_t epilogue = lt_epilogue(g.epilogue);
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc.h, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc.h, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &g.bias, sizeof(g.bias)));
  }
  // Column-major views of the row-major storage.
  Layout first(t, g.trans_b ? g.k : g.n, g.trans_b ? g.n : g.k, g.ldb, g.batch, g.stride_b);
  Layout second(t, g.trans_a ? g.m : g.k, g.trans_a ? g.k : g.m, g.lda, g.batch, g.stride_a);
  Layout out(g.output() == DType::kF32 ? CUDA_R_32F : CUDA_R_16F, g.n, g.m, g.ldc, g.batch, g.stride_c);

  Pref pref;
  size_t ws = kWorkspace;
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
  void* d = g.d ? g.d : g.c;
  uint32_t al_first = alignment_of(g.b), al_second = alignment_of(g.a), al_c = alignment_of(g.c),
           al_d = alignment_of(d);
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_first, sizeof(al_first)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_second, sizeof(al_second)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_c, sizeof(al_c)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_d, sizeof(al_d)));

  const std::optional<cublasLtMatmulAlgo_t> algo = choose_algo(
      session, g, desc.h, first.h, second.h, out.h, pref.h, tuning_key(session, g, compute, {al_first, al_second, al_c}));
  if (!algo) return false;
  void* workspace = session.workspace(kWorkspace);
  CUBLAS_CHECK(cublasLtMatmul(session.cublas(), desc.h, &g.alpha, g.b, first.h, g.a, second.h, &g.beta, g.c,
                              out.h, d, out.h, &*algo, workspace, kWorkspace, session.stream()));
  return true;
}

}  // namespace

void gemm_lt(CudaSession& session, const GemmCall& g) {
  if (!run_gemm(session, g))
    fail(ErrorCode::kInternal, "internal error: cuBLASLt found no algorithm for a " + std::to_string(g.m) + "x" +
                                   std::to_string(g.n) + "x" + std::to_string(g.k) + " GEMM");
}

bool gemm_lt_epilogue(CudaSession& session, const GemmCall& g) { return run_gemm(session, g); }

}  // namespace kiln::linear
