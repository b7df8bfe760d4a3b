// Separable 2-D resampling on the GPU: one thread per output element, taps from tables.
#include "kiln/status.h"
#include "ops/spatial/spatial_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::spatial {
namespace {

template <class T>
__global__ void resize_2d_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t planes,
                                 int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
                                 ResizeTaps2D t) {
  const int64_t n = planes * out_h * out_w;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t ow = i % out_w, oh = (i / out_w) % out_h, p = i / (out_w * out_h);
    const T* plane = x + p * in_h * in_w;
    float acc = 0.f;
    for (int a = 0; a < t.h_taps; ++a) {
      const float wh = t.h_weight[oh * t.h_taps + a];
      const T* row = plane + int64_t(t.h_index[oh * t.h_taps + a]) * in_w;
      float racc = 0.f;
      for (int b = 0; b < t.w_taps; ++b)
        racc += t.w_weight[ow * t.w_taps + b] * cuda::load_f(row, t.w_index[ow * t.w_taps + b]);
      acc += wh * racc;
    }
    cuda::store_f(y, i, acc);
  }
}

}  // namespace

void launch_resize_2d(DType dt, const void* x, void* y, int64_t planes, int64_t in_h, int64_t in_w,
                      int64_t out_h, int64_t out_w, const ResizeTaps2D& taps, CudaStream stream) {
  const int64_t n = planes * out_h * out_w;
  if (n == 0) return;
  if (dt == DType::kF32)
    resize_2d_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(
        static_cast<const float*>(x), static_cast<float*>(y), planes, in_h, in_w, out_h, out_w, taps);
  else if (dt == DType::kF16)
    resize_2d_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(
        static_cast<const __half*>(x), static_cast<__half*>(y), planes, in_h, in_w, out_h, out_w, taps);
  else
    KILN_ASSERT(!"resize dtype");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::spatial
