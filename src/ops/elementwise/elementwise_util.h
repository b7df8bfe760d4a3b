// Shared pieces of the elementwise family: the compute type of each storage type, wrapping
// integer arithmetic, saturating float->int conversion, and shape inference helpers.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "ops/op_util.h"

namespace kiln::ew {

// 16-bit floats are computed in float and rounded once per element; everything else computes
// in its own type.
template <class T> struct ComputeOf { using type = T; };
template <> struct ComputeOf<f16> { using type = float; };
template <> struct ComputeOf<bf16> { using type = float; };
template <class T> using compute_t = typename ComputeOf<T>::type;

template <class T> constexpr bool is_half_v = std::is_same_v<T, f16> || std::is_same_v<T, bf16>;
template <class T>
constexpr bool is_float_v = std::is_floating_point_v<T> || is_half_v<T>;
template <class T> constexpr bool is_int_v = std::is_integral_v<T> && !std::is_same_v<T, bool>;

template <class T> inline compute_t<T> load(T v) {
  if constexpr (std::is_same_v<T, f16>) return f16_to_float(v.bits);
  else if constexpr (std::is_same_v<T, bf16>) return bf16_to_float(v.bits);
  else return v;
}
template <class T> inline T store(compute_t<T> v) {
  if constexpr (std::is_same_v<T, f16>) return f16{float_to_f16(v)};
  else if constexpr (std::is_same_v<T, bf16>) return bf16{float_to_bf16(v)};
  else return v;
}

// Integer arithmetic wraps modulo 2^bits (numpy's behaviour) instead of overflowing (UB).
template <class T> inline T wrap_add(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return T(U(U(a) + U(b)));
}
template <class T> inline T wrap_sub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return T(U(U(a) - U(b)));
}
template <class T> inline T wrap_mul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  // uint8 * uint8 promotes to int, which cannot overflow; wider types multiply unsigned.
  using W = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, U>;
  return T(U(W(U(a)) * W(U(b))));
}
template <class T> inline T wrap_neg(T a) { return wrap_sub(T(0), a); }

// Float -> integer: truncation toward zero, saturating at the type's limits, NaN -> 0.
// (C++ leaves out-of-range conversions undefined; this is what CUDA's cvt.rzi does.)
template <class I> inline I saturate_cast(double v) {
  if (std::isnan(v)) return I(0);
  constexpr double lo = double(std::numeric_limits<I>::min());
  constexpr double hi = double(std::numeric_limits<I>::max());
  if (v <= lo) return std::numeric_limits<I>::min();
  if (v >= hi) return std::numeric_limits<I>::max();  // int64 max rounds up to 2^63 here
  return I(v);
}

// Rounds a double straight to f16 / bf16 bits (one rounding; going through float would round
// twice and can be off by one ulp at ties).
uint16_t double_to_f16_bits(double v);
uint16_t double_to_bf16_bits(double v);

// Stores a double into any kiln type: floats round to nearest even (once), integers truncate
// and saturate, bool is v != 0.
template <class T> inline T from_compute_double(double v) {
  if constexpr (is_int_v<T>) return saturate_cast<T>(v);
  else if constexpr (std::is_same_v<T, bool>) return v != 0.0;
  else if constexpr (std::is_same_v<T, f16>) return f16{double_to_f16_bits(v)};
  else if constexpr (std::is_same_v<T, bf16>) return bf16{double_to_bf16_bits(v)};
  else return T(v);
}

// An op's result as storage type T: already T (an op that rounds itself), or T's compute type.
template <class T, class V> inline T to_storage(V v) {
  if constexpr (std::is_same_v<V, T>) return v;
  else return store<T>(v);
}

// --- shape inference helpers ---
// Output 0 has input 0's dtype and shape.
std::vector<ValueType> infer_same_as_input0(const InferContext& ctx);
// The broadcast of every present input's shape (nullopt if any rank is unknown).
std::optional<Shape> infer_broadcast_shape(const InferContext& ctx);
// Throws kInvalidModel unless every present input has input 0's dtype.
void require_same_dtypes(const InferContext& ctx);

}  // namespace kiln::ew
