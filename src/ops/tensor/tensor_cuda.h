// CUDA kernels of the tensor family. Reshape-like ops alias their input (no copy); Transpose,
// Slice, Concat and Expand are strided copies (runtime/cuda/strided_copy). Any dtype.
#pragma once
#include "ops/op.h"

namespace kiln::tensor_ops {

void alias_cuda(CudaKernelContext& ctx);  // Reshape, Squeeze, Unsqueeze, Flatten, Identity
void transpose_cuda(CudaKernelContext& ctx);
void slice_cuda(CudaKernelContext& ctx);
void concat_cuda(CudaKernelContext& ctx);
void expand_cuda(CudaKernelContext& ctx);

}  // namespace kiln::tensor_ops
