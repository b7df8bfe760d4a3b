// im2col for convolutions run as GEMMs: each thread takes one (n, c, i, oh, ow), reads the k_w
// inputs of its window row (for kernel == stride a warp reads one contiguous span; repeats hit
// L1) and writes them to k_w column rows, where a warp's writes are contiguous in ow. The GEMM
// that follows (conv_patchify_cuda.cpp) does the arithmetic.
#include "kiln/status.h"
#include "ops/conv/patchify.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::conv {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxGridYZ = 65535;

template <class T>
__global__ void __launch_bounds__(kThreads) patchify_kernel(PatchifyParams p) {
  const T* __restrict__ x = static_cast<const T*>(p.x);
  T* __restrict__ col = static_cast<T*>(p.col);
  const int patches = p.out_h * p.out_w, rows = p.channels * p.k_h, in_hw = p.in_h * p.in_w;
  for (int n = blockIdx.z; n < p.batch; n += gridDim.z)
    for (int row = blockIdx.y; row < rows; row += gridDim.y) {
      const int c = row / p.k_h, i = row - c * p.k_h;
      const T* xp = x + (int64_t(n) * p.channels + c) * in_hw;
      T* cp = col + (int64_t(n) * rows + row) * p.k_w * int64_t(patches);
      for (int q = blockIdx.x * kThreads + threadIdx.x; q < patches; q += gridDim.x * kThreads) {
        const int oh = q / p.out_w, ow = q - oh * p.out_w;
        const int ih = oh * p.s_h - p.pad_h + i * p.d_h, iw0 = ow * p.s_w - p.pad_w;
        const bool row_in = ih >= 0 && ih < p.in_h;
        const T* src = xp + ih * p.in_w;
        for (int j = 0; j < p.k_w; ++j) {
          const int iw = iw0 + j * p.d_w;
          cp[int64_t(j) * patches + q] = row_in && iw >= 0 && iw < p.in_w ? src[iw] : T(0.f);
        }
      }
    }
}

template <class T> void launch_as(const PatchifyParams& p, CudaStream stream) {
  const int rows = p.channels * p.k_h;
  const dim3 grid(cuda::grid_for(int64_t(p.out_h) * p.out_w, kThreads), unsigned(rows < kMaxGridYZ ? rows : kMaxGridYZ),
                  unsigned(p.batch < kMaxGridYZ ? p.batch : kMaxGridYZ));
  patchify_kernel<T><<<grid, kThreads, 0, stream>>>(p);
}

}  // namespace

void launch_patchify(DType dt, const PatchifyParams& p, CudaStream stream) {
  if (p.batch == 0 || p.channels == 0 || p.out_h == 0 || p.out_w == 0) return;
  if (dt == DType::kF32) launch_as<float>(p, stream);
  else if (dt == DType::kF16) launch_as<__half>(p, stream);
  else KILN_ASSERT(!"patchify dtype");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::conv
