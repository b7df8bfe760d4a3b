// Shape inference and CPU kernels of the linear-algebra family (registered in register.cpp).
#pragma once
#include <vector>

#include "ops/linear/epilogue.h"
#include "ops/op.h"

namespace kiln::linear {

std::vector<ValueType> matmul_infer(const InferContext& ctx);
std::vector<Tensor> matmul_cpu(const KernelContext& ctx);
std::vector<ValueType> gemm_infer(const InferContext& ctx);
std::vector<Tensor> gemm_cpu(const KernelContext& ctx);
std::vector<ValueType> einsum_infer(const InferContext& ctx);
std::vector<Tensor> einsum_cpu(const KernelContext& ctx);

// kiln.FusedMatMul (fused_matmul.cpp): act(A·W + bias) [+ residual].
std::vector<ValueType> fused_matmul_infer(const InferContext& ctx);
std::vector<Tensor> fused_matmul_cpu(const KernelContext& ctx);
// The node's `activation` attribute ("none" | "relu" | "gelu" | "gelu_tanh"); others: model error.
EpilogueActivation epilogue_activation(const OpContextBase& ctx);

}  // namespace kiln::linear
