#include "ops/linear/linear_ops.h"
#include "ops/registry.h"
#ifdef KILN_WITH_CUDA
#include "ops/linear/linear_cuda.h"
#endif

namespace kiln {

void register_linear_ops(OpRegistry& r) {
  using namespace linear;
  r.add({.domain = "", .name = "MatMul", .min_inputs = 2, .max_inputs = 2, .infer = matmul_infer,
         .cpu = matmul_cpu});
  r.add({.domain = "", .name = "Gemm", .min_inputs = 2, .max_inputs = 3, .infer = gemm_infer,
         .cpu = gemm_cpu});
  r.add({.domain = "", .name = "Einsum", .min_inputs = 1, .max_inputs = -1, .infer = einsum_infer,
         .cpu = einsum_cpu});
  r.add({.domain = kKilnDomain, .name = "FusedMatMul", .min_inputs = 3, .max_inputs = 4,
         .infer = fused_matmul_infer, .cpu = fused_matmul_cpu});
#ifdef KILN_WITH_CUDA
  r.set_cuda("MatMul", matmul_cuda);
  r.set_cuda("Gemm", gemm_cuda);
  r.set_cuda("Einsum", einsum_cuda);
  r.set_cuda("FusedMatMul", fused_matmul_cuda, kKilnDomain);
#endif
}

}  // namespace kiln
