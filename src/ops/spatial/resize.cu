// Separable 2-D resampling on the GPU: one thread per output element, taps from tables.
#include "kiln/status.h"
#include "ops/spatial/spatial_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::spatial {
namespace {

// I: the index type. 64-bit division is emulated on the GPU and cost more than the taps' loads
// (4-8% of bandwidth on SegFormer's decode head), so sizes below 2^31 divide in 32 bits.
template <class T, class I>
__global__ void resize_2d_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t planes,
                                 int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
                                 ResizeTaps2D t) {
  const I n = I(planes * out_h * out_w), ow_n = I(out_w), oh_n = I(out_h);
  for (I i = I(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += I(gridDim.x) * blockDim.x) {
    const I rest = i / ow_n, ow = i - rest * ow_n, p = rest / oh_n, oh = rest - p * oh_n;
    const T* plane = x + int64_t(p) * in_h * in_w;
    float acc = 0.f;
    for (int a = 0; a < t.h_taps; ++a) {
      const float wh = t.h_weight[oh * t.h_taps + a];
      const T* row = plane + int64_t(t.h_index[oh * t.h_taps + a]) * in_w;
      float racc = 0.f;
      for (int b = 0; b < t.w_taps; ++b)
        racc += t.w_weight[ow * t.w_taps + b] * cuda::load_f(row, t.w_index[ow * t.w_taps + b]);
      acc += wh * racc;
    }
    cuda::store_f(y, int64_t(i), acc);
  }
}

}  // namespace

void launch_resize_2d(DType dt, const void* x, void* y, int64_t planes, int64_t in_h, int64_t in_w,
                      int64_t out_h, int64_t out_w, const ResizeTaps2D& taps, CudaStream stream) {
  const int64_t n = planes * out_h * out_w;
  if (n == 0) return;
  const bool small = n <= 0x7fffffff;
  if (dt == DType::kF32) {
    auto px = static_cast<const float*>(x);
    auto py = static_cast<float*>(y);
    if (small)
      resize_2d_kernel<float, uint32_t><<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(px, py, planes, in_h, in_w, out_h, out_w, taps);
    else
      resize_2d_kernel<float, int64_t><<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(px, py, planes, in_h, in_w, out_h, out_w, taps);
  } else if (dt == DType::kF16) {
    auto px = static_cast<const __half*>(x);
    auto py = static_cast<__half*>(y);
    if (small)
      resize_2d_kernel<__half, uint32_t><<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(px, py, planes, in_h, in_w, out_h, out_w, taps);
    else
      resize_2d_kernel<__half, int64_t><<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(px, py, planes, in_h, in_w, out_h, out_w, taps);
  } else {
    KILN_ASSERT(!"resize dtype");
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::spatial
