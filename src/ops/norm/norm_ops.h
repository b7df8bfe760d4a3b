// Shape inference and CPU kernels of the normalization family (registered in register.cpp).
#pragma once
#include <optional>
#include <vector>

#include "ops/op.h"

namespace kiln::norm {

// LayerNormalization's Y type: Scale's, which is X's or, in the mixed forms of fp16 engines
// (layer_norm.cpp), the other of float32/float16; B must match Scale. Other pairs: model error.
DType layer_norm_y_dtype(const OpContextBase& ctx, DType x, DType scale, std::optional<DType> bias);
std::vector<ValueType> layer_norm_infer(const InferContext& ctx);
// LayerNormalization over the last axis of x as layer_norm_cpu computes it (statistics in double,
// one rounding into y_dtype): scale [inner], bias [inner] or empty. For fused ops' references.
Tensor layer_norm_last_axis(const OpContextBase& ctx, const Tensor& x, const std::vector<double>& scale,
                            const std::vector<double>& bias, double eps, DType y_dtype);
std::vector<Tensor> layer_norm_cpu(const KernelContext& ctx);
std::vector<ValueType> instance_norm_infer(const InferContext& ctx);
std::vector<Tensor> instance_norm_cpu(const KernelContext& ctx);
std::vector<ValueType> batch_norm_infer(const InferContext& ctx);
std::vector<Tensor> batch_norm_cpu(const KernelContext& ctx);
std::vector<ValueType> group_norm_infer(const InferContext& ctx);
std::vector<Tensor> group_norm_cpu(const KernelContext& ctx);
std::vector<ValueType> mvn_infer(const InferContext& ctx);
std::vector<Tensor> mvn_cpu(const KernelContext& ctx);
std::vector<ValueType> lrn_infer(const InferContext& ctx);
std::vector<Tensor> lrn_cpu(const KernelContext& ctx);

}  // namespace kiln::norm
