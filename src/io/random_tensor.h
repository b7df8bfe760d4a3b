// Fresh random inputs for `--input NAME=random`: floats uniform in [-1, 1), integers in
// [0, 10), bools fair coin flips.
#pragma once
#include <cstdint>

#include "ir/tensor.h"

namespace kiln {

Tensor random_tensor_for_input(DType dtype, const Dims& dims, uint64_t seed);

}  // namespace kiln
