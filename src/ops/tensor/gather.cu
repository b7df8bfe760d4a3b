// Gather on the GPU: out[o, j, i] = data[o, idx[j], i] with data viewed as [outer, dim, inner].
// Negative indices count from the end; an index still out of range reads element 0 and raises
// the error flag, which the host checks (gather_error_flag) so it is never silent.
#include "kiln/status.h"
#include "ops/tensor/tensor_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::tensor_ops {
namespace {

template <class T, class I>
__global__ void gather_kernel(const T* __restrict__ data, const I* __restrict__ idx, T* __restrict__ out,
                              int64_t count, int64_t dim, int64_t inner, int64_t n, int* __restrict__ bad) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t in = i % inner, j = (i / inner) % count, o = i / (inner * count);
    int64_t k = int64_t(idx[j]);
    if (k < 0) k += dim;
    if (k < 0 || k >= dim) {
      *bad = 1;
      k = 0;
    }
    out[i] = data[(o * dim + k) * inner + in];
  }
}

template <class T>
void launch_as(const void* data, const void* idx, bool idx64, void* out, int64_t count, int64_t dim, int64_t inner,
               int64_t n, int* bad, CudaStream s) {
  if (idx64)
    gather_kernel<T, int64_t><<<cuda::grid_for(n), cuda::kThreads, 0, s>>>(
        static_cast<const T*>(data), static_cast<const int64_t*>(idx), static_cast<T*>(out), count, dim, inner, n, bad);
  else
    gather_kernel<T, int32_t><<<cuda::grid_for(n), cuda::kThreads, 0, s>>>(
        static_cast<const T*>(data), static_cast<const int32_t*>(idx), static_cast<T*>(out), count, dim, inner, n, bad);
}

}  // namespace

void launch_gather(const void* data, size_t elem_size, const void* idx, bool idx64, void* out, int64_t count,
                   int64_t dim, int64_t inner, int64_t n, int* bad, CudaStream stream) {
  if (n == 0) return;
  switch (elem_size) {
    case 1: launch_as<uint8_t>(data, idx, idx64, out, count, dim, inner, n, bad, stream); break;
    case 2: launch_as<uint16_t>(data, idx, idx64, out, count, dim, inner, n, bad, stream); break;
    case 4: launch_as<uint32_t>(data, idx, idx64, out, count, dim, inner, n, bad, stream); break;
    case 8: launch_as<uint64_t>(data, idx, idx64, out, count, dim, inner, n, bad, stream); break;
    default: KILN_ASSERT(!"gather element size");
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::tensor_ops
