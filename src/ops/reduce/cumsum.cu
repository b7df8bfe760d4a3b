// CumSum on the GPU: one thread per line along the axis ([outer, n, inner] view), running sum in
// double for floats (as the CPU reference) and wrapping int64 for integers.
#include "kiln/status.h"
#include "ops/reduce/reduce_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::reduce {
namespace {

template <class T, class C> __device__ __forceinline__ void put(T* y, int64_t at, C v) {
  if constexpr (std::is_same_v<T, __half>) y[at] = __float2half_rn(float(v));
  else y[at] = T(v);
}

template <class T, class C>
__global__ void cumsum_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t n, int64_t inner,
                              bool exclusive, bool reverse) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < outer * inner;
       c += int64_t(gridDim.x) * blockDim.x) {
    const int64_t base = (c / inner) * n * inner + c % inner;
    C acc = C(0);
    for (int64_t step = 0; step < n; ++step) {
      const int64_t at = base + (reverse ? n - 1 - step : step) * inner;
      C cur;
      if constexpr (std::is_same_v<T, __half>) cur = C(__half2float(x[at]));
      else cur = C(x[at]);
      if (exclusive) put(y, at, acc);
      if constexpr (std::is_integral_v<C>) acc = C(uint64_t(acc) + uint64_t(cur));
      else acc += cur;
      if (!exclusive) put(y, at, acc);
    }
  }
}

template <class T, class C>
void launch_as(const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool exclusive, bool reverse,
               CudaStream s) {
  cumsum_kernel<T, C><<<cuda::grid_for(outer * inner), cuda::kThreads, 0, s>>>(
      static_cast<const T*>(x), static_cast<T*>(y), outer, n, inner, exclusive, reverse);
}

}  // namespace

void launch_cumsum(DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool exclusive,
                   bool reverse, CudaStream stream) {
  if (outer * n * inner == 0) return;
  switch (dt) {
    case DType::kF32: launch_as<float, double>(x, y, outer, n, inner, exclusive, reverse, stream); break;
    case DType::kF16: launch_as<__half, double>(x, y, outer, n, inner, exclusive, reverse, stream); break;
    case DType::kF64: launch_as<double, double>(x, y, outer, n, inner, exclusive, reverse, stream); break;
    case DType::kI64: launch_as<int64_t, int64_t>(x, y, outer, n, inner, exclusive, reverse, stream); break;
    case DType::kI32: launch_as<int32_t, int64_t>(x, y, outer, n, inner, exclusive, reverse, stream); break;
    default: KILN_ASSERT(!"cumsum dtype");
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::reduce
