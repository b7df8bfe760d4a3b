// Separable 2-D resampling on the GPU, taps from tables: a row kernel for nearest/linear taps,
// one thread per output element for the rest (cubic).
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

// Nearest and linear taps (1 or 2 per axis): one block row per output row, so the row's taps
// are read once per thread and no index is divided; the generic kernel reached 4-8% of
// bandwidth on SegFormer's decode head, where this is the common case.
template <class T, int HT, int WT>
__global__ void resize_rows_kernel(const T* __restrict__ x, T* __restrict__ y, int in_h, int in_w, int out_h,
                                   int out_w, ResizeTaps2D t) {
  const int oh = blockIdx.y, ow = blockIdx.x * blockDim.x + threadIdx.x;
  if (ow >= out_w) return;
  const int64_t p = blockIdx.z;
  const T* plane = x + p * in_h * in_w;
  float acc = 0.f;
#pragma unroll
  for (int a = 0; a < HT; ++a) {
    const T* row = plane + int64_t(t.h_index[oh * HT + a]) * in_w;
    float racc = 0.f;
#pragma unroll
    for (int b = 0; b < WT; ++b) racc += t.w_weight[ow * WT + b] * cuda::load_f(row, t.w_index[ow * WT + b]);
    acc += t.h_weight[oh * HT + a] * racc;
  }
  cuda::store_f(y + (p * out_h + oh) * out_w, ow, acc);
}

template <class T, int HT, int WT>
void launch_rows(const void* x, void* y, int64_t planes, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
                 const ResizeTaps2D& taps, CudaStream stream) {
  constexpr int kThreads = 128;
  dim3 grid(unsigned((out_w + kThreads - 1) / kThreads), unsigned(out_h), unsigned(planes));
  resize_rows_kernel<T, HT, WT><<<grid, kThreads, 0, stream>>>(static_cast<const T*>(x), static_cast<T*>(y), int(in_h),
                                                              int(in_w), int(out_h), int(out_w), taps);
  CUDA_CHECK_LAUNCH();
}

template <class T>
bool try_rows(const void* x, void* y, int64_t planes, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
              const ResizeTaps2D& t, CudaStream stream) {
  if (planes > 65535 || out_h > 65535 || in_h * in_w > 0x7fffffff || out_w > 0x7fffffff) return false;
  if (t.h_taps == 1 && t.w_taps == 1) return launch_rows<T, 1, 1>(x, y, planes, in_h, in_w, out_h, out_w, t, stream), true;
  if (t.h_taps == 2 && t.w_taps == 2) return launch_rows<T, 2, 2>(x, y, planes, in_h, in_w, out_h, out_w, t, stream), true;
  if (t.h_taps == 1 && t.w_taps == 2) return launch_rows<T, 1, 2>(x, y, planes, in_h, in_w, out_h, out_w, t, stream), true;
  if (t.h_taps == 2 && t.w_taps == 1) return launch_rows<T, 2, 1>(x, y, planes, in_h, in_w, out_h, out_w, t, stream), true;
  return false;
}

}  // namespace

void launch_resize_2d(DType dt, const void* x, void* y, int64_t planes, int64_t in_h, int64_t in_w,
                      int64_t out_h, int64_t out_w, const ResizeTaps2D& taps, CudaStream stream) {
  const int64_t n = planes * out_h * out_w;
  if (n == 0) return;
  const bool small = n <= 0x7fffffff;
  if (dt == DType::kF32 && try_rows<float>(x, y, planes, in_h, in_w, out_h, out_w, taps, stream)) return;
  if (dt == DType::kF16 && try_rows<__half>(x, y, planes, in_h, in_w, out_h, out_w, taps, stream)) return;
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
