// Device side of Example.ScaledSwish: one grid-stride pass, fp32 math for fp16 storage.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "scaled_swish.h"

namespace {

template <class T> __device__ float load(const T* p, int64_t i);
template <> __device__ float load(const float* p, int64_t i) { return p[i]; }
template <> __device__ float load(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ void store(float* p, int64_t i, float v) { p[i] = v; }
__device__ void store(__half* p, int64_t i, float v) { p[i] = __float2half_rn(v); }

template <class T> __global__ void swish_kernel(const T* x, T* y, int64_t n, float alpha, float beta) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float v = load(x, i);
    store(y, i, alpha * v / (1.0f + __expf(-beta * v)));
  }
}

}  // namespace

extern "C" const char* scaled_swish_cuda(const void* x, void* y, int64_t n, int is_half, float alpha, float beta,
                                         void* stream) {
  if (n == 0) return nullptr;
  int threads = 256;
  int blocks = int((n + threads - 1) / threads < 4096 ? (n + threads - 1) / threads : 4096);
  auto s = static_cast<cudaStream_t>(stream);
  if (is_half)
    swish_kernel<<<blocks, threads, 0, s>>>(static_cast<const __half*>(x), static_cast<__half*>(y), n, alpha, beta);
  else
    swish_kernel<<<blocks, threads, 0, s>>>(static_cast<const float*>(x), static_cast<float*>(y), n, alpha, beta);
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? nullptr : cudaGetErrorString(e);
}
