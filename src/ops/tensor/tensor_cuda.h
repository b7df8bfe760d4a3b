// CUDA kernels of the tensor family. Reshape-like ops alias their input (no copy); Transpose,
// Slice, Concat, Expand and Tile are strided copies; Gather has its own kernel (gather.cu) (runtime/cuda/strided_copy). Any dtype.
#pragma once
#include "ops/op.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::tensor_ops {

void alias_cuda(CudaKernelContext& ctx);  // Reshape, Squeeze, Unsqueeze, Flatten, Identity
void transpose_cuda(CudaKernelContext& ctx);
void slice_cuda(CudaKernelContext& ctx);
void concat_cuda(CudaKernelContext& ctx);
void expand_cuda(CudaKernelContext& ctx);
void tile_cuda(CudaKernelContext& ctx);
void gather_cuda(CudaKernelContext& ctx);

// data viewed as [outer, dim, inner], count indices (int64 or int32); n = outer * count * inner.
// Sets *bad (device int) when an index is out of range.
void launch_gather(const void* data, size_t elem_size, const void* idx, bool idx64, void* out, int64_t count,
                   int64_t dim, int64_t inner, int64_t n, int* bad, CudaStream stream);

}  // namespace kiln::tensor_ops
