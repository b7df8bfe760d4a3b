// Which axes a Reduce* node reduces and the shape it produces. The axes are an attribute up
// to opset 17 (ReduceSum: up to 12) and an optional second input from then on, when
// noop_with_empty_axes also appears; empty axes mean "all axes" unless that flag is set.
#pragma once
#include <optional>
#include <vector>

#include "ops/op.h"

namespace kiln::reduce {

struct ReduceParams {
  bool keepdims = true;
  bool noop_with_empty_axes = false;
  bool axes_from_input = false;
};

// Reads the attributes valid at the node's opset; a stale 'axes' attribute at an opset where
// axes are an input is a model error.
ReduceParams reduce_params(const OpContextBase& ctx);

// Per input axis: reduced or not. Empty axes reduce everything, or nothing when noop is set.
// Out-of-range and repeated axes are model errors.
std::vector<bool> reduced_mask(const OpContextBase& ctx, const std::vector<int64_t>& axes, int rank,
                               bool noop);

// Output shape of reducing `mask` axes of `dims`.
Dims reduced_dims(const Dims& dims, const std::vector<bool>& mask, bool keepdims);

// The axes list as given (attribute or constant input), nullopt if an input that is not
// constant. Checks that an axes input is a 1-D integer tensor.
std::optional<std::vector<int64_t>> infer_axes(const InferContext& ctx, const ReduceParams& p);
std::vector<int64_t> kernel_axes(const KernelContext& ctx, const ReduceParams& p);

// Output type of a Reduce* node (same dtype as the data input).
ValueType reduce_output_type(const InferContext& ctx, const ReduceParams& p);

}  // namespace kiln::reduce
