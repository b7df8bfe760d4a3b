// Shape inference and CPU kernels of the linear-algebra family (registered in register.cpp).
#pragma once
#include <vector>

#include "ops/op.h"

namespace kiln::linear {

std::vector<ValueType> matmul_infer(const InferContext& ctx);
std::vector<Tensor> matmul_cpu(const KernelContext& ctx);
std::vector<ValueType> gemm_infer(const InferContext& ctx);
std::vector<Tensor> gemm_cpu(const KernelContext& ctx);
std::vector<ValueType> einsum_infer(const InferContext& ctx);
std::vector<Tensor> einsum_cpu(const KernelContext& ctx);

}  // namespace kiln::linear
