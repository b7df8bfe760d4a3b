// CUDA kernels of the tensor family. Reshape-like ops alias their input (no copy); Transpose,
// Slice, Concat, Expand and Tile are strided copies; Gather and Pad have their own kernels (gather.cu, pad.cu), ConstantOfShape a fill (fill.cu) (runtime/cuda/strided_copy). Any dtype.
#pragma once
#include "ops/op.h"
#include "ops/tensor/remap_program.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::tensor_ops {

void alias_cuda(CudaKernelContext& ctx);  // Reshape, Squeeze, Unsqueeze, Flatten, Identity
void transpose_cuda(CudaKernelContext& ctx);
void slice_cuda(CudaKernelContext& ctx);
void concat_cuda(CudaKernelContext& ctx);
void expand_cuda(CudaKernelContext& ctx);
void tile_cuda(CudaKernelContext& ctx);
void pad_cuda(CudaKernelContext& ctx);
void gather_cuda(CudaKernelContext& ctx);
void constant_of_shape_cuda(CudaKernelContext& ctx);
void remap_cuda(CudaKernelContext& ctx);  // kiln.Remap (remap_cuda.cpp)

// n elements of elem_size bytes, each set to the low bytes of bits (fill.cu).
void launch_fill(void* y, size_t elem_size, int64_t n, uint64_t bits, CudaStream stream);

// data viewed as [outer, dim, inner], count indices (int64 or int32); n = outer * count * inner.
// Sets *bad (device int) when an index is out of range.
void launch_gather(const void* data, size_t elem_size, const void* idx, bool idx64, void* out, int64_t count,
                   int64_t dim, int64_t inner, int64_t n, int* bad, CudaStream stream);

constexpr int kMaxPadRank = 8;
struct PadGeometry {
  int rank = 0;
  int mode = 0;  // 0 constant, 1 edge, 2 wrap, 3 reflect
  int64_t out_dims[kMaxPadRank] = {}, in_dims[kMaxPadRank] = {}, begin[kMaxPadRank] = {},
          in_strides[kMaxPadRank] = {};
};
// fill_bits: the constant value's bytes (elem_size of them, low bytes first).
void launch_pad(const void* x, void* y, size_t elem_size, const PadGeometry& g, uint64_t fill_bits, CudaStream stream);

// kiln.Remap's composed map with at least one piecewise axis: y[i] = x[source(i)] or the fill,
// elements of elem_size bytes (1, 2, 4, 8 or 16: remap_cuda widens where the program allows).
// fill: elem_size bytes.
void launch_remap(const void* x, void* y, size_t elem_size, const RemapProgram& p, const unsigned char* fill,
                  CudaStream stream);

}  // namespace kiln::tensor_ops
