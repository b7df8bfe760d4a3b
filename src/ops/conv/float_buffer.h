// Moving float tensors in and out of the compute type: f32/f64 kernels read the tensor data
// directly; f16/bf16 are widened to float, computed, and rounded back per element.
#pragma once
#include <vector>

#include "ir/tensor.h"

namespace kiln::conv {

// Every element of a float tensor (any float dtype) as Acc.
template <class Acc>
std::vector<Acc> widen(const Tensor& t) {
  std::vector<Acc> out(size_t(t.numel()));
  visit_dtype(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T> && !std::is_same_v<T, bool>) {
      const T* p = t.data<T>();
      for (size_t i = 0; i < out.size(); ++i) out[i] = Acc(to_double(p[i]));
    } else {
      KILN_ASSERT(false);
    }
  });
  return out;
}

// Rounds values into t (same element count) in t's dtype.
template <class Acc>
void narrow_into(const std::vector<Acc>& values, Tensor& t) {
  KILN_ASSERT(int64_t(values.size()) == t.numel());
  visit_dtype(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T> && !std::is_same_v<T, bool>) {
      T* p = t.data<T>();
      for (size_t i = 0; i < values.size(); ++i) p[i] = from_double<T>(double(values[i]));
    } else {
      KILN_ASSERT(false);
    }
  });
}

}  // namespace kiln::conv
