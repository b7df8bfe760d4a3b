#include "io/random_tensor.h"

#include <random>

namespace kiln {

Tensor random_tensor_for_input(DType dtype, const Dims& dims, uint64_t seed) {
  Tensor t(dtype, dims);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::uniform_int_distribution<int> small(0, 9), coin(0, 1);
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T>) {
      T* p = t.data<T>();
      for (int64_t i = 0; i < t.numel(); ++i) {
        if constexpr (std::is_same_v<T, bool>) p[i] = coin(rng) != 0;
        else if constexpr (std::is_integral_v<T>) p[i] = T(small(rng));
        else p[i] = from_double<T>(uniform(rng));
      }
    }
  });
  return t;
}

}  // namespace kiln
