// Helpers every op family uses: axes, broadcasting, dtype groups, parallel loops.
#pragma once
#include <functional>
#include <initializer_list>

#include "ops/op.h"

namespace kiln {

inline constexpr std::initializer_list<DType> kFloatTypes = {DType::kF32, DType::kF16, DType::kBF16,
                                                             DType::kF64};
inline constexpr std::initializer_list<DType> kNumericTypes = {
    DType::kF32, DType::kF16, DType::kBF16, DType::kF64,
    DType::kI64, DType::kI32, DType::kI8,   DType::kU8};
inline constexpr std::initializer_list<DType> kAllTypes = {
    DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI64,
    DType::kI32, DType::kI8,  DType::kU8,   DType::kBool};

// Maps axis in [-rank, rank) to [0, rank); anything else is a model error.
int normalize_axis(const OpContextBase& ctx, int64_t axis, int rank);

// Numpy-style (multidirectional) broadcasting; incompatible shapes are a model error.
Shape broadcast_shapes(const OpContextBase& ctx, const Shape& a, const Shape& b);
Dims broadcast_dims(const OpContextBase& ctx, const Dims& a, const Dims& b);

// Element strides of `in` read as if broadcast to `out` (0 along broadcast axes), padded on
// the left to out's rank.
Dims broadcast_strides(const Dims& in, const Dims& out);
// Row-major strides of dims.
Dims contiguous_strides(const Dims& dims);

// Runs fn(begin, end) over [0, n) split across the CPU threads; serial when n is small.
// fn must not throw: check inputs before the loop.
void parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn);

// Integer values of a constant input (shape/axes/pads tensors), or nullopt when not constant.
std::optional<std::vector<int64_t>> constant_ints(const InferContext& ctx, size_t i);

// One node run through its CPU reference from the registry. Fused ops' references run the nodes
// they replaced this way, so fused and unfused graphs give the same bits.
Tensor run_cpu_reference(const Node& node, std::vector<const Tensor*> inputs);
// A node of `op` (ONNX's domain at opset 17, or kiln's) named after `fused`, one output: a step
// of a fused op's reference for run_cpu_reference, its attributes still to set.
Node reference_step(const Node& fused, const char* op, bool kiln_domain);
// The type's dims when every one is known, else an empty vector (fused ops' shape checks).
std::vector<int64_t> known_dims(const ValueType& t);

}  // namespace kiln
