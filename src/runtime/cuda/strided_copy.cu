#include "kiln/status.h"
#include "runtime/cuda/kernel_util.cuh"
#include "runtime/cuda/strided_copy.h"

namespace kiln::cuda {
namespace {

template <class T>
__global__ void strided_copy_kernel(const T* __restrict__ in, T* __restrict__ out, StridedLayout l,
                                    int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[strided_offset(l, l.strides[0], i)] = in[strided_offset(l, l.strides[1], i)];
}

// out[b][r][c] = in[b][c][r] through a shared-memory tile, so both sides are read and written
// along their contiguous axis (the generic kernel writes one side 2-4 bytes at a time at a
// stride, ~10% of bandwidth on Hopper).
constexpr int kTile = 32, kRows = 8;
template <class T>
__global__ void transpose_kernel(const T* __restrict__ in, T* __restrict__ out, int64_t rows, int64_t cols) {
  __shared__ T tile[kTile][kTile + 1];
  const int64_t plane = rows * cols;
  const T* src = in + blockIdx.z * plane;
  T* dst = out + blockIdx.z * plane;
  const int64_t r0 = int64_t(blockIdx.y) * kTile, c0 = int64_t(blockIdx.x) * kTile;
  for (int k = threadIdx.y; k < kTile; k += kRows) {
    const int64_t c = c0 + k, r = r0 + threadIdx.x;
    if (c < cols && r < rows) tile[k][threadIdx.x] = src[c * rows + r];
  }
  __syncthreads();
  for (int k = threadIdx.y; k < kTile; k += kRows) {
    const int64_t r = r0 + k, c = c0 + threadIdx.x;
    if (r < rows && c < cols) dst[r * cols + c] = tile[threadIdx.x][k];
  }
}

// The layout as a batched transpose: output contiguous [batch, rows, cols], input [batch, cols,
// rows]. Returns false when it is not one.
bool as_transpose(const StridedLayout& l, int64_t* batch, int64_t* rows, int64_t* cols) {
  if (l.rank < 2 || l.rank > 3 || !layout_is_contiguous_operand(l, 0)) return false;
  const int r = l.rank - 2, c = l.rank - 1;
  *rows = l.dims[r], *cols = l.dims[c];
  *batch = l.rank == 3 ? l.dims[0] : 1;
  if (l.strides[1][r] != 1 || l.strides[1][c] != *rows) return false;
  if (l.rank == 3 && l.strides[1][0] != *rows * *cols) return false;
  return *batch <= 65535 && (*rows + kTile - 1) / kTile <= 65535;
}

template <class T>
void launch(const void* in, void* out, const StridedLayout& l, CudaStream stream) {
  int64_t n = 1;
  for (int d = 0; d < l.rank; ++d) n *= l.dims[d];
  if (n == 0) return;
  int64_t batch = 1, rows = 0, cols = 0;
  if (as_transpose(l, &batch, &rows, &cols)) {
    dim3 grid(unsigned((cols + kTile - 1) / kTile), unsigned((rows + kTile - 1) / kTile), unsigned(batch));
    transpose_kernel<T><<<grid, dim3(kTile, kRows), 0, stream>>>(static_cast<const T*>(in), static_cast<T*>(out),
                                                                  rows, cols);
    CUDA_CHECK_LAUNCH();
    return;
  }
  strided_copy_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(static_cast<const T*>(in),
                                                               static_cast<T*>(out), l, n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

// The layout as rows of a contiguous run on both sides (Concat and Slice along an outer axis,
// batch > 1): one 2-D memcpy. The generic kernel moved SegFormer-B2's batch-8 decode-head
// Concat at 16% of bandwidth. Returns false when it is not one, or the runs are short.
bool as_rows(const StridedLayout& l, size_t elem_size, size_t* width, size_t* height, size_t* out_pitch,
             size_t* in_pitch) {
  if (l.rank != 2 || l.strides[0][1] != 1 || l.strides[1][1] != 1) return false;
  *width = size_t(l.dims[1]) * elem_size;
  *height = size_t(l.dims[0]);
  *out_pitch = size_t(l.strides[0][0]) * elem_size;
  *in_pitch = size_t(l.strides[1][0]) * elem_size;
  return *width >= 512 && *out_pitch >= *width && *in_pitch >= *width && *out_pitch <= 0x7fffffff &&
         *in_pitch <= 0x7fffffff;
}

void strided_copy(const void* in, void* out, size_t elem_size, const StridedLayout& l,
                  CudaStream stream) {
  if (layout_is_contiguous(l, 2)) {
    int64_t n = 1;
    for (int d = 0; d < l.rank; ++d) n *= l.dims[d];
    if (n) CUDA_CHECK(cudaMemcpyAsync(out, in, size_t(n) * elem_size, cudaMemcpyDeviceToDevice, stream));
    return;
  }
  size_t width = 0, height = 0, out_pitch = 0, in_pitch = 0;
  if (as_rows(l, elem_size, &width, &height, &out_pitch, &in_pitch)) {
    CUDA_CHECK(cudaMemcpy2DAsync(out, out_pitch, in, in_pitch, width, height, cudaMemcpyDeviceToDevice, stream));
    return;
  }
  StridedLayout wide = l;
  const uintptr_t addresses[2] = {reinterpret_cast<uintptr_t>(out), reinterpret_cast<uintptr_t>(in)};
  switch (widen_layout(wide, 2, elem_size, addresses)) {
    case 16: return launch<uint4>(in, out, wide, stream);
    case 1: return launch<uint8_t>(in, out, wide, stream);
    case 2: return launch<uint16_t>(in, out, wide, stream);
    case 4: return launch<uint32_t>(in, out, wide, stream);
    case 8: return launch<uint64_t>(in, out, wide, stream);
    default: KILN_ASSERT(!"element size");
  }
}

}  // namespace kiln::cuda
