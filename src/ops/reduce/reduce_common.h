// Pieces shared by the reduce family: the arithmetic type each element type computes in,
// the outer x axis x inner view of a tensor around one axis, and the family's registrars.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace kiln::reduce {

template <class T> inline constexpr bool kIsFloat =
    std::is_floating_point_v<T> || std::is_same_v<T, f16> || std::is_same_v<T, bf16>;

// Accumulation type: double for float types (the reference accumulates in double), int64 for
// integers and bool so integer results stay exact (wrapping like the output type would).
template <class T> using compute_t = std::conditional_t<kIsFloat<T>, double, int64_t>;

template <class T> inline compute_t<T> to_compute(T v) {
  if constexpr (kIsFloat<T>) return to_double(v);
  else return static_cast<int64_t>(v);
}
template <class T> inline T from_compute(compute_t<T> v) {
  if constexpr (kIsFloat<T>) return from_double<T>(v);
  else if constexpr (std::is_same_v<T, bool>) return v != 0;
  else return static_cast<T>(v);  // modular narrowing (C++20)
}

// Comparison type: exact for every dtype (f16/bf16 widen to float, others compare natively).
template <class T> using cmp_t =
    std::conditional_t<std::is_same_v<T, f16> || std::is_same_v<T, bf16>, float, T>;
template <class T> inline cmp_t<T> to_cmp(T v) {
  if constexpr (std::is_same_v<T, f16> || std::is_same_v<T, bf16>) return float(to_double(v));
  else return v;
}
template <class V> inline bool is_nan(V v) {
  if constexpr (std::is_floating_point_v<V>) return std::isnan(v);
  else return false;
}

// A tensor seen as [outer, axis_len, inner] around one axis (row-major).
struct AxisView {
  int64_t outer = 1, axis_len = 1, inner = 1;
};
inline AxisView axis_view(const Dims& dims, int axis) {
  AxisView v;
  for (int i = 0; i < int(dims.size()); ++i) {
    if (i < axis) v.outer *= dims[size_t(i)];
    else if (i == axis) v.axis_len = dims[size_t(i)];
    else v.inner *= dims[size_t(i)];
  }
  return v;
}

// Inner blocks are processed in chunks of this many columns so per-column state stays small
// and a tensor with few outer rows still splits across threads.
inline constexpr int64_t kColumnChunk = 256;

void register_reduction_ops(OpRegistry& r);  // ReduceSum, ReduceMean, ... (reduce_ops.cpp)
void register_arg_ops(OpRegistry& r);        // ArgMax, ArgMin
void register_softmax_ops(OpRegistry& r);    // Softmax, LogSoftmax, Hardmax
void register_topk_op(OpRegistry& r);
void register_cumsum_op(OpRegistry& r);

}  // namespace kiln::reduce
