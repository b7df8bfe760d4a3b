// NaN and ±Inf in float tensors, for `kiln run --check-finite`: inputs holding them are
// refused, outputs holding them are reported.
#pragma once
#include <cstdint>

#include "ir/tensor.h"

namespace kiln {

struct NonFinite {
  int64_t count = 0;
  int64_t first = -1;  // flat index of the first NaN/Inf; -1 when count is 0
};

// Counts NaN and ±Inf elements of a float32/float64/float16/bfloat16 tensor; tensors of other
// dtypes hold none.
NonFinite find_non_finite(const Tensor& t);

}  // namespace kiln
