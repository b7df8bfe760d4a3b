// CUDA Cast between float32/16/64, int64/32/8, uint8 and bool. Values pass through double as
// in the CPU reference (to_double / from_double), so both round alike.
#include "kiln/status.h"
#include "ops/elementwise/elementwise_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::ew {
namespace {

template <class T> __device__ __forceinline__ double to_d(T v) {
  if constexpr (std::is_same_v<T, __half>) return double(__half2float(v));
  else return double(v);
}
template <class T> __device__ __forceinline__ T from_d(double v) {
  if constexpr (std::is_same_v<T, __half>) return __float2half_rn(float(v));
  else if constexpr (std::is_same_v<T, bool>) return v != 0.0;
  else return T(v);
}

template <class From, class To>
__global__ void cast_kernel(const From* __restrict__ in, To* __restrict__ out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = from_d<To>(to_d(in[i]));
}

template <class Fn> void visit(DType dt, Fn&& fn) {
  switch (dt) {
    case DType::kF32: return fn(float{});
    case DType::kF16: return fn(__half{});
    case DType::kF64: return fn(double{});
    case DType::kI64: return fn(int64_t{});
    case DType::kI32: return fn(int32_t{});
    case DType::kI8: return fn(int8_t{});
    case DType::kU8: return fn(uint8_t{});
    case DType::kBool: return fn(bool{});
    default: KILN_ASSERT(!"cast dtype");
  }
}

}  // namespace

void launch_cast(DType from, DType to, const void* in, void* out, int64_t n, CudaStream stream) {
  if (n == 0) return;
  visit(from, [&](auto f) {
    visit(to, [&](auto t) {
      using F = decltype(f);
      using T = decltype(t);
      cast_kernel<F, T><<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(static_cast<const F*>(in),
                                                                         static_cast<T*>(out), n);
    });
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::ew
