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

template <class T>
void launch(const void* in, void* out, const StridedLayout& l, CudaStream stream) {
  int64_t n = 1;
  for (int d = 0; d < l.rank; ++d) n *= l.dims[d];
  if (n == 0) return;
  strided_copy_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(static_cast<const T*>(in),
                                                               static_cast<T*>(out), l, n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void strided_copy(const void* in, void* out, size_t elem_size, const StridedLayout& l,
                  CudaStream stream) {
  if (layout_is_contiguous(l, 2)) {
    int64_t n = 1;
    for (int d = 0; d < l.rank; ++d) n *= l.dims[d];
    if (n) CUDA_CHECK(cudaMemcpyAsync(out, in, size_t(n) * elem_size, cudaMemcpyDeviceToDevice, stream));
    return;
  }
  switch (elem_size) {
    case 1: return launch<uint8_t>(in, out, l, stream);
    case 2: return launch<uint16_t>(in, out, l, stream);
    case 4: return launch<uint32_t>(in, out, l, stream);
    case 8: return launch<uint64_t>(in, out, l, stream);
    default: KILN_ASSERT(!"element size");
  }
}

}  // namespace kiln::cuda
