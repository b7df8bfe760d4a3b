// kiln.Attention: softmax(scale · Q Kᵀ [+ mask]) V in one op, put in the graph by
// passes/fuse_attention (or named by a model in the "kiln" domain).
//
//   inputs   Q [..., Nq, d], K [..., Nk, d], V [..., Nk, dv]   (same float dtype, equal leading
//            batch dims, no broadcasting between them)
//            mask (optional) broadcastable to [..., Nq, Nk]: bool (true = may attend) or Q's
//            dtype (added to the scaled scores)
//   attr     scale (float; default 1/sqrt(d))
//   output   [..., Nq, dv], Q's dtype
// A row whose every score is masked out is NaN, as Softmax over all -inf is.
#pragma once
#include <vector>

#include "ops/op.h"

namespace kiln::attention {

std::vector<ValueType> attention_infer(const InferContext& ctx);
std::vector<Tensor> attention_cpu(const KernelContext& ctx);
// The scale attribute, or 1/sqrt(d) when absent.
float attention_scale(const OpContextBase& ctx, int64_t d);

}  // namespace kiln::attention
