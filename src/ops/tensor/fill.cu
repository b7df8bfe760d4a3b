// ConstantOfShape on the GPU: every element set to one value, written as raw bytes of its width.
#include <cstring>

#include "kiln/status.h"
#include "ops/tensor/tensor_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::tensor_ops {
namespace {

template <class T>
__global__ void fill_kernel(T* __restrict__ y, T v, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) y[i] = v;
}

template <class T> void launch_as(void* y, uint64_t bits, int64_t n, CudaStream s) {
  T v;
  memcpy(&v, &bits, sizeof(T));
  fill_kernel<T><<<cuda::grid_for(n), cuda::kThreads, 0, s>>>(static_cast<T*>(y), v, n);
}

}  // namespace

void launch_fill(void* y, size_t elem_size, int64_t n, uint64_t bits, CudaStream stream) {
  if (n == 0) return;
  switch (elem_size) {
    case 1: launch_as<uint8_t>(y, bits, n, stream); break;
    case 2: launch_as<uint16_t>(y, bits, n, stream); break;
    case 4: launch_as<uint32_t>(y, bits, n, stream); break;
    case 8: launch_as<uint64_t>(y, bits, n, stream); break;
    default: KILN_ASSERT(!"fill element size");
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::tensor_ops
