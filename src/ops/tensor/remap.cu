// kiln.Remap on the GPU: one thread per run of kRun consecutive output elements (or 16-byte
// vectors of them) finds the run's source through the composed map (remap_program.h) and copies
// it, or writes the fill. A run lies inside the innermost factor, which moves the source offset
// by a fixed stride (Swin's channels: contiguous), so its elements share every other coordinate
// — and whether they are fill — and the index arithmetic, a dozen 32-bit divisions per call, is
// paid once per run.
#include <cstring>

#include "kiln/status.h"
#include "ops/tensor/tensor_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::tensor_ops {
namespace {

// __grid_constant__: the program (~1.5 KB) is read in place from parameter space; without it the
// segment loop's dynamic indexing would copy it to local memory per thread.
template <class T, class I, int kRun>
__global__ void remap_kernel(const T* __restrict__ x, T* __restrict__ y, const __grid_constant__ RemapProgram p,
                             const T fill) {
  const int64_t runs = p.numel / kRun;
  const I step = kRun > 1 ? I(p.stride[p.factors - 1]) : I(0);
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < runs; r += int64_t(gridDim.x) * blockDim.x) {
    I src;
    const bool inside = remap_source<I>(p, I(r * kRun), &src);
#pragma unroll
    for (int j = 0; j < kRun; ++j) y[r * kRun + j] = inside ? x[src + I(j) * step] : fill;
  }
}

template <class T, int kRun>
void launch_runs(const T* in, T* out, const RemapProgram& p, T fill, CudaStream s) {
  const unsigned grid = cuda::grid_for(p.numel / kRun);
  if (p.index32) remap_kernel<T, int32_t, kRun><<<grid, cuda::kThreads, 0, s>>>(in, out, p, fill);
  else remap_kernel<T, int64_t, kRun><<<grid, cuda::kThreads, 0, s>>>(in, out, p, fill);
}

template <class T>
void launch_as(const void* x, void* y, const RemapProgram& p, const unsigned char* fill_bytes, CudaStream s) {
  T fill;
  memcpy(&fill, fill_bytes, sizeof(T));
  const auto* in = static_cast<const T*>(x);
  auto* out = static_cast<T*>(y);
  // Runs of 4 or 2 where the innermost factor moves the offset and its length allows.
  const int last = p.factors - 1;
  const int64_t inner = last >= 0 && p.axis[last] < 0 ? p.size[last] : 1;
  if (inner % 4 == 0) launch_runs<T, 4>(in, out, p, fill, s);
  else if (inner % 2 == 0) launch_runs<T, 2>(in, out, p, fill, s);
  else launch_runs<T, 1>(in, out, p, fill, s);
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
