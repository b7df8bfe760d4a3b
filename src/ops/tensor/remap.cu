// kiln.Remap on the GPU: one thread per output element (or 16-byte vector of them) finds its
// source through the composed map (remap_program.h) and copies it, or writes the fill.
#include <cstring>

#include "kiln/status.h"
#include "ops/tensor/tensor_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::tensor_ops {
namespace {

// __grid_constant__: the program (~1.5 KB) is read in place from parameter space; without it the
// segment loop's dynamic indexing would copy it to local memory per thread.
template <class T, class I>
__global__ void remap_kernel(const T* __restrict__ x, T* __restrict__ y, const __grid_constant__ RemapProgram p,
                             const T fill) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < p.numel; i += int64_t(gridDim.x) * blockDim.x) {
    I src;
    y[i] = remap_source<I>(p, I(i), &src) ? x[src] : fill;
  }
}

template <class T>
void launch_as(const void* x, void* y, const RemapProgram& p, const unsigned char* fill_bytes, CudaStream s) {
  T fill;
  memcpy(&fill, fill_bytes, sizeof(T));
  const auto* in = static_cast<const T*>(x);
  auto* out = static_cast<T*>(y);
  if (p.index32) remap_kernel<T, int32_t><<<cuda::grid_for(p.numel), cuda::kThreads, 0, s>>>(in, out, p, fill);
  else remap_kernel<T, int64_t><<<cuda::grid_for(p.numel), cuda::kThreads, 0, s>>>(in, out, p, fill);
}

}  // namespace

void launch_remap(const void* x, void* y, size_t elem_size, const RemapProgram& p, const unsigned char* fill,
                  CudaStream stream) {
  if (p.numel == 0) return;
  switch (elem_size) {
    case 1: launch_as<uint8_t>(x, y, p, fill, stream); break;
    case 2: launch_as<uint16_t>(x, y, p, fill, stream); break;
    case 4: launch_as<uint32_t>(x, y, p, fill, stream); break;
    case 8: launch_as<uint64_t>(x, y, p, fill, stream); break;
    case 16: launch_as<uint4>(x, y, p, fill, stream); break;
    default: KILN_ASSERT(!"remap element size");
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::tensor_ops
