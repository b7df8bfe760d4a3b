// InstanceNormalization on the GPU: one block per (n, c) plane, two-pass fp32 statistics, then
// y = (x - mean) * inv_std * scale[c] + bias[c].
#include "kiln/status.h"
#include "ops/norm/norm_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::norm {
namespace {

template <class T>
__global__ void instance_norm_kernel(const T* __restrict__ x, const T* __restrict__ scale, const T* __restrict__ bias,
                                     T* __restrict__ y, int64_t channels, int64_t spatial, float eps) {
  const int64_t plane = blockIdx.x, c = plane % channels;
  const T* xr = x + plane * spatial;
  T* yr = y + plane * spatial;
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < spatial; i += blockDim.x) sum += cuda::load_f(xr, i);
  const float mean = cuda::block_reduce<false>(sum) / float(spatial);
  float sq = 0.f;
  for (int64_t i = threadIdx.x; i < spatial; i += blockDim.x) {
    const float d = cuda::load_f(xr, i) - mean;
    sq += d * d;
  }
  const float inv = rsqrtf(cuda::block_reduce<false>(sq) / float(spatial) + eps);
  const float s = cuda::load_f(scale, c) * inv, b = cuda::load_f(bias, c);
  for (int64_t i = threadIdx.x; i < spatial; i += blockDim.x) cuda::store_f(yr, i, (cuda::load_f(xr, i) - mean) * s + b);
}

template <class T>
void launch_as(const void* x, const void* scale, const void* bias, void* y, int64_t planes, int64_t channels,
               int64_t spatial, float eps, CudaStream s) {
  const int threads = spatial >= 1024 ? 512 : spatial >= 256 ? 256 : 128;
  instance_norm_kernel<T><<<unsigned(planes), threads, 0, s>>>(static_cast<const T*>(x), static_cast<const T*>(scale),
                                                               static_cast<const T*>(bias), static_cast<T*>(y),
                                                               channels, spatial, eps);
}

}  // namespace

void launch_instance_norm(DType dt, const void* x, const void* scale, const void* bias, void* y, int64_t planes,
                          int64_t channels, int64_t spatial, float eps, CudaStream stream) {
  if (planes == 0 || spatial == 0) return;
  KILN_ASSERT(planes <= 0x7fffffff);
  if (dt == DType::kF32) launch_as<float>(x, scale, bias, y, planes, channels, spatial, eps, stream);
  else if (dt == DType::kF16) launch_as<__half>(x, scale, bias, y, planes, channels, spatial, eps, stream);
  else KILN_ASSERT(!"instance norm dtype");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::norm
