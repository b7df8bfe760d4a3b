// Copies elements between two strided views of one index space: out[off_out(i)] = in[off_in(i)]
// with layout operand 0 the output and operand 1 the input. Transpose, Slice, Concat, Expand and
// Gemm's bias broadcast are all this one kernel.
#pragma once
#include <cstddef>

#include "runtime/cuda/device_tensor.h"
#include "runtime/cuda/strided_layout.h"

namespace kiln::cuda {

void strided_copy(const void* in, void* out, size_t elem_size, const StridedLayout& layout,
                  CudaStream stream);

}  // namespace kiln::cuda
