// LayerNormalization on the GPU: mean, then the mean of squared deviations (two passes over the
// row, fp32), then y = (x - mean) * inv_std * scale + bias. Rows up to 1024 elements (every
// transformer here: 32–1024 channels) take one warp each, held in registers — 4 elements per
// access where the width and alignment allow — ; longer rows take a block each. X may differ from Y (float32 vs float16, the mixed forms of layer_norm.cpp); Scale
// and B have Y's type.
#include "kiln/status.h"
#include "ops/norm/norm_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::norm {
namespace {

template <class T, class U>
__global__ void layer_norm_kernel(const T* __restrict__ x, const U* __restrict__ scale,
                                  const U* __restrict__ bias, U* __restrict__ y,
                                  float* __restrict__ mean_out, float* __restrict__ inv_out,
                                  int64_t inner, float eps) {
  const int64_t row = blockIdx.x;
  const T* xr = x + row * inner;
  U* yr = y + row * inner;
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

// One warp per row, the row in registers: x is read once and y written once, and no block
// barrier stalls the 64-channel rows of SegFormer's first stage (the block kernel reached 8% of
// bandwidth there).
template <class T, class U, int kPerLane>
__global__ void layer_norm_warp(const T* __restrict__ x, const U* __restrict__ scale, const U* __restrict__ bias,
                                U* __restrict__ y, float* __restrict__ mean_out, float* __restrict__ inv_out,
                                int64_t rows, int inner, float eps) {
  const int64_t row = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;
  const int lane = threadIdx.x & 31;
  const T* xr = x + row * inner;
  U* yr = y + row * inner;
  float v[kPerLane];
  float sum = 0.f;
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int i = k * 32 + lane;
    v[k] = i < inner ? cuda::load_f(xr, i) : 0.f;
    sum += v[k];
  }
  const float mean = cuda::warp_sum(sum) / float(inner);
  float sq = 0.f;
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int i = k * 32 + lane;
    const float d = i < inner ? v[k] - mean : 0.f;
    sq += d * d;
  }
  const float inv = rsqrtf(cuda::warp_sum(sq) / float(inner) + eps);
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int i = k * 32 + lane;
    if (i >= inner) continue;
    float o = (v[k] - mean) * inv * cuda::load_f(scale, i);
    if (bias) o += cuda::load_f(bias, i);
    cuda::store_f(yr, i, o);
  }
  if (lane == 0) {
    if (mean_out) mean_out[row] = mean;
    if (inv_out) inv_out[row] = inv;
  }
}

// The warp-per-row kernel with 4 consecutive elements per access (16 bytes of fp32, 8 of fp16):
// rows whose width is a multiple of 4 on aligned storage. Element-wise accesses moved 2-4 bytes
// per lane and left the LayerNorms of SegFormer-B2 at 69% of the copy rate at batch 8.
template <class T> __device__ __forceinline__ void load4(const T* p, float (&f)[4]) {
  if constexpr (sizeof(T) == 4) {
    const float4 u = __ldg(reinterpret_cast<const float4*>(p));
    f[0] = u.x, f[1] = u.y, f[2] = u.z, f[3] = u.w;
  } else {
    const uint2 u = __ldg(reinterpret_cast<const uint2*>(p));
    const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&u.x));
    const float2 b = __half22float2(*reinterpret_cast<const __half2*>(&u.y));
    f[0] = a.x, f[1] = a.y, f[2] = b.x, f[3] = b.y;
  }
}
template <class T> __device__ __forceinline__ void store4(T* p, const float (&f)[4]) {
  if constexpr (sizeof(T) == 4) {
    *reinterpret_cast<float4*>(p) = make_float4(f[0], f[1], f[2], f[3]);
  } else {
    const __half2 a = __floats2half2_rn(f[0], f[1]), b = __floats2half2_rn(f[2], f[3]);
    uint2 u;
    u.x = *reinterpret_cast<const uint32_t*>(&a);
    u.y = *reinterpret_cast<const uint32_t*>(&b);
    *reinterpret_cast<uint2*>(p) = u;
  }
}

template <class T, class U, int kVecs>
__global__ void layer_norm_warp4(const T* __restrict__ x, const U* __restrict__ scale, const U* __restrict__ bias,
                                 U* __restrict__ y, float* __restrict__ mean_out, float* __restrict__ inv_out,
                                 int64_t rows, int inner, float eps) {
  const int64_t row = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;
  const int lane = threadIdx.x & 31;
  const T* xr = x + row * inner;
  U* yr = y + row * inner;
  float v[kVecs][4];
  float sum = 0.f;
#pragma unroll
  for (int k = 0; k < kVecs; ++k) {
    const int i = (k * 32 + lane) * 4;
    if (i < inner) load4(xr + i, v[k]);
    else v[k][0] = v[k][1] = v[k][2] = v[k][3] = 0.f;
    sum += (v[k][0] + v[k][1]) + (v[k][2] + v[k][3]);
  }
  const float mean = cuda::warp_sum(sum) / float(inner);
  float sq = 0.f;
#pragma unroll
  for (int k = 0; k < kVecs; ++k)
    if ((k * 32 + lane) * 4 < inner)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float d = v[k][e] - mean;
        sq += d * d;
      }
  const float inv = rsqrtf(cuda::warp_sum(sq) / float(inner) + eps);
#pragma unroll
  for (int k = 0; k < kVecs; ++k) {
    const int i = (k * 32 + lane) * 4;
    if (i >= inner) continue;
    float o[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      o[e] = (v[k][e] - mean) * inv * cuda::load_f(scale, i + e);
      if (bias) o[e] += cuda::load_f(bias, i + e);
    }
    store4(yr + i, o);
  }
  if (lane == 0) {
    if (mean_out) mean_out[row] = mean;
    if (inv_out) inv_out[row] = inv;
  }
}

template <class T, class U, int kVecs> void launch_warp4(const LayerNormArgs& a, CudaStream stream) {
  constexpr int kRowsPerBlock = 8;
  layer_norm_warp4<T, U, kVecs><<<unsigned((a.rows + kRowsPerBlock - 1) / kRowsPerBlock), 32 * kRowsPerBlock, 0,
                                  stream>>>(static_cast<const T*>(a.x), static_cast<const U*>(a.scale),
                                            static_cast<const U*>(a.bias), static_cast<U*>(a.y), a.mean, a.inv_std,
                                            a.rows, int(a.inner), a.eps);
  CUDA_CHECK_LAUNCH();
}

template <class T, class U, int kPerLane> void launch_warp(const LayerNormArgs& a, CudaStream stream) {
  constexpr int kRowsPerBlock = 8;
  layer_norm_warp<T, U, kPerLane><<<unsigned((a.rows + kRowsPerBlock - 1) / kRowsPerBlock), 32 * kRowsPerBlock, 0,
                                    stream>>>(static_cast<const T*>(a.x), static_cast<const U*>(a.scale),
                                              static_cast<const U*>(a.bias), static_cast<U*>(a.y), a.mean, a.inv_std,
                                              a.rows, int(a.inner), a.eps);
  CUDA_CHECK_LAUNCH();
}

template <class T, class U> void launch(const LayerNormArgs& a, CudaStream stream) {
  const auto aligned = [](const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; };
  if (a.inner <= 1024 && a.inner % 4 == 0 && aligned(a.x, 4 * sizeof(T)) && aligned(a.y, 4 * sizeof(U))) {
    if (a.inner <= 128) return launch_warp4<T, U, 1>(a, stream);
    if (a.inner <= 256) return launch_warp4<T, U, 2>(a, stream);
    if (a.inner <= 512) return launch_warp4<T, U, 4>(a, stream);
    return launch_warp4<T, U, 8>(a, stream);
  }
  if (a.inner <= 1024) {
    if (a.inner <= 32) return launch_warp<T, U, 1>(a, stream);
    if (a.inner <= 64) return launch_warp<T, U, 2>(a, stream);
    if (a.inner <= 128) return launch_warp<T, U, 4>(a, stream);
    if (a.inner <= 256) return launch_warp<T, U, 8>(a, stream);
    if (a.inner <= 512) return launch_warp<T, U, 16>(a, stream);
    return launch_warp<T, U, 32>(a, stream);
  }
  int threads = a.inner >= 1024 ? 512 : a.inner >= 256 ? 256 : 128;
  layer_norm_kernel<T, U><<<unsigned(a.rows), threads, 0, stream>>>(
      static_cast<const T*>(a.x), static_cast<const U*>(a.scale), static_cast<const U*>(a.bias),
      static_cast<U*>(a.y), a.mean, a.inv_std, a.inner, a.eps);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_layer_norm(DType x, DType y, const LayerNormArgs& a, CudaStream stream) {
  if (a.rows == 0 || a.inner == 0) return;
  KILN_ASSERT(a.rows <= 0x7fffffff);
  if (x == DType::kF32 && y == DType::kF32) return launch<float, float>(a, stream);
  if (x == DType::kF16 && y == DType::kF16) return launch<__half, __half>(a, stream);
  if (x == DType::kF32 && y == DType::kF16) return launch<float, __half>(a, stream);
  if (x == DType::kF16 && y == DType::kF32) return launch<__half, float>(a, stream);
  KILN_ASSERT(!"layer norm dtype");
}

}  // namespace kiln::norm
