// Pad on the GPU, every mode: each output element finds its source element per axis
// (constant → the fill value, edge → clamp, reflect → mirror, wrap → modulo) as in pad.cpp.
#include "kiln/status.h"
#include "ops/tensor/tensor_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::tensor_ops {
namespace {

__device__ __forceinline__ int64_t source_index(int64_t o, int64_t begin, int64_t dim, int mode) {
  int64_t i = o - begin;
  if (i >= 0 && i < dim) return i;
  switch (mode) {
    case 1: return i < 0 ? 0 : dim - 1;                  // edge
    case 2: return ((i % dim) + dim) % dim;              // wrap
    case 3: {                                            // reflect
      if (dim == 1) return 0;
      const int64_t period = 2 * (dim - 1), m = ((i % period) + period) % period;
      return m < dim ? m : period - m;
    }
  }
  return -1;  // constant
}

template <class T>
__global__ void pad_kernel(const T* __restrict__ x, T* __restrict__ y, PadGeometry g, T fill, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rest = i, off = 0;
    bool inside = true;
    for (int d = g.rank - 1; d >= 0; --d) {
      const int64_t o = rest % g.out_dims[d];
      rest /= g.out_dims[d];
      const int64_t s = source_index(o, g.begin[d], g.in_dims[d], g.mode);
      if (s < 0) inside = false;
      else off += s * g.in_strides[d];
    }
    y[i] = inside ? x[off] : fill;
  }
}

template <class T> void launch_as(const void* x, void* y, const PadGeometry& g, uint64_t fill_bits, int64_t n, CudaStream s) {
  T fill;
  memcpy(&fill, &fill_bits, sizeof(T));
  pad_kernel<T><<<cuda::grid_for(n), cuda::kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), g, fill, n);
}

}  // namespace

void launch_pad(const void* x, void* y, size_t elem_size, const PadGeometry& g, uint64_t fill_bits, CudaStream stream) {
  int64_t n = 1;
  for (int d = 0; d < g.rank; ++d) n *= g.out_dims[d];
  if (n == 0) return;
  switch (elem_size) {
    case 1: launch_as<uint8_t>(x, y, g, fill_bits, n, stream); break;
    case 2: launch_as<uint16_t>(x, y, g, fill_bits, n, stream); break;
    case 4: launch_as<uint32_t>(x, y, g, fill_bits, n, stream); break;
    case 8: launch_as<uint64_t>(x, y, g, fill_bits, n, stream); break;
    default: KILN_ASSERT(!"pad element size");
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::tensor_ops
