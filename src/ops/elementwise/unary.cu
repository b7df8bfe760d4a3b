// CUDA unary math and activations (Relu, Sigmoid, Tanh, Gelu, ...), fp32 and fp16 (math in fp32).
#include "kiln/status.h"
#include "ops/elementwise/elementwise_cuda.h"
#include "ops/elementwise/gelu_math.cuh"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::ew {
namespace {

__device__ __forceinline__ float apply(CudaUnary op, float x) {
  switch (op) {
    case CudaUnary::kRelu: return x > 0.f ? x : (x == x ? 0.f : x);  // NaN stays NaN
    case CudaUnary::kSqrt: return sqrtf(x);
    case CudaUnary::kErf: return erff(x);
    case CudaUnary::kSigmoid: return 1.f / (1.f + expf(-x));
    case CudaUnary::kTanh: return tanhf(x);
    case CudaUnary::kExp: return expf(x);
    case CudaUnary::kLog: return logf(x);
    case CudaUnary::kNeg: return -x;
    case CudaUnary::kAbs: return fabsf(x);
    case CudaUnary::kSin: return sinf(x);
    case CudaUnary::kCos: return cosf(x);
    case CudaUnary::kReciprocal: return 1.f / x;
    case CudaUnary::kFloor: return floorf(x);
    case CudaUnary::kCeil: return ceilf(x);
    case CudaUnary::kGelu: return gelu_erf(x);
    case CudaUnary::kGeluTanh: return gelu_tanh(x);
  }
  return x;
}

template <class T>
__global__ void unary_kernel(CudaUnary op, const T* __restrict__ in, T* __restrict__ out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    cuda::store_f(out, i, apply(op, cuda::load_f(in, i)));
}

// 16 bytes per thread and step (pointers aligned, n a multiple of the width).
template <class T>
__global__ void unary_vec_kernel(CudaUnary op, const T* __restrict__ in, T* __restrict__ out, int64_t vectors) {
  using V = cuda::Vec16<T>;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < vectors;
       i += int64_t(gridDim.x) * blockDim.x) {
    const V x = reinterpret_cast<const V*>(in)[i];
    V y;
#pragma unroll
    for (int k = 0; k < V::kCount; ++k) cuda::store_f(y.v, k, apply(op, cuda::load_f(x.v, k)));
    reinterpret_cast<V*>(out)[i] = y;
  }
}

template <class T> void launch_typed(CudaUnary op, const void* in, void* out, int64_t n, CudaStream stream) {
  constexpr int kN = cuda::Vec16<T>::kCount;
  auto pi = static_cast<const T*>(in);
  auto po = static_cast<T*>(out);
  if (n % kN == 0 && cuda::aligned16(in) && cuda::aligned16(out))
    unary_vec_kernel<<<cuda::grid_for(n / kN), cuda::kThreads, 0, stream>>>(op, pi, po, n / kN);
  else
    unary_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(op, pi, po, n);
}

}  // namespace

void launch_unary(CudaUnary op, DType dt, const void* in, void* out, int64_t n, CudaStream stream) {
  if (n == 0) return;
  if (dt == DType::kF32)
    launch_typed<float>(op, in, out, n, stream);
  else if (dt == DType::kF16)
    launch_typed<__half>(op, in, out, n, stream);
  else
    KILN_ASSERT(!"unary dtype");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::ew
