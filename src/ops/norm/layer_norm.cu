// LayerNormalization on the GPU: one block per row; mean, then the mean of squared deviations
// (two passes over the row, fp32), then y = (x - mean) * inv_std * scale + bias.
#include "kiln/status.h"
#include "ops/norm/norm_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::norm {
namespace {

template <class T>
__global__ void layer_norm_kernel(const T* __restrict__ x, const T* __restrict__ scale,
                                  const T* __restrict__ bias, T* __restrict__ y,
                                  float* __restrict__ mean_out, float* __restrict__ inv_out,
                                  int64_t inner, float eps) {
  const int64_t row = blockIdx.x;
  const T* xr = x + row * inner;
  T* yr = y + row * inner;
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) sum += cuda::load_f(xr, i);
  const float mean = cuda::block_reduce<false>(sum) / float(inner);
  float sq = 0.f;
  for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) {
    float d = cuda::load_f(xr, i) - mean;
    sq += d * d;
  }
  const float inv = rsqrtf(cuda::block_reduce<false>(sq) / float(inner) + eps);
  for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) {
    float v = (cuda::load_f(xr, i) - mean) * inv * cuda::load_f(scale, i);
    if (bias) v += cuda::load_f(bias, i);
    cuda::store_f(yr, i, v);
  }
  if (threadIdx.x == 0) {
    if (mean_out) mean_out[row] = mean;
    if (inv_out) inv_out[row] = inv;
  }
}

template <class T> void launch(const LayerNormArgs& a, CudaStream stream) {
  int threads = a.inner >= 1024 ? 512 : a.inner >= 256 ? 256 : 128;
  layer_norm_kernel<T><<<unsigned(a.rows), threads, 0, stream>>>(
      static_cast<const T*>(a.x), static_cast<const T*>(a.scale), static_cast<const T*>(a.bias),
      static_cast<T*>(a.y), a.mean, a.inv_std, a.inner, a.eps);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_layer_norm(DType dt, const LayerNormArgs& a, CudaStream stream) {
  if (a.rows == 0 || a.inner == 0) return;
  KILN_ASSERT(a.rows <= 0x7fffffff);
  if (dt == DType::kF32) return launch<float>(a, stream);
  if (dt == DType::kF16) return launch<__half>(a, stream);
  KILN_ASSERT(!"layer norm dtype");
}

}  // namespace kiln::norm
