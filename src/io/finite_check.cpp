#include "io/finite_check.h"

#include <cmath>

namespace kiln {
namespace {

// 16-bit floats are told by their exponent bits: all ones is Inf or NaN.
template <class T> bool finite(T v) {
  if constexpr (std::is_same_v<T, f16>) return (v.bits & 0x7c00) != 0x7c00;
  else if constexpr (std::is_same_v<T, bf16>) return (v.bits & 0x7f80) != 0x7f80;
  else return std::isfinite(v);
}

}  // namespace

NonFinite find_non_finite(const Tensor& t) {
  NonFinite r;
  visit_dtype(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, f16> ||
                  std::is_same_v<T, bf16>) {
      const T* p = t.data<T>();
      for (int64_t i = 0; i < t.numel(); ++i)
        if (!finite(p[i]) && r.count++ == 0) r.first = i;
    }
  });
  return r;
}

}  // namespace kiln
