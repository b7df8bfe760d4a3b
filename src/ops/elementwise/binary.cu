// CUDA binary arithmetic with numpy broadcasting (layouts from elementwise_cuda.cpp).
#include "kiln/status.h"
#include "ops/elementwise/elementwise_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::ew {
namespace {

using cuda::StridedLayout;

template <class T> __device__ __forceinline__ T apply(CudaBinary op, T x, T y) {
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case CudaBinary::kAdd: return x + y;
      case CudaBinary::kSub: return x - y;
      case CudaBinary::kMul: return x * y;
      case CudaBinary::kDiv: return x / y;
      case CudaBinary::kPow: return powf(x, y);
    }
  } else {
    switch (op) {
      case CudaBinary::kAdd: return T(uint64_t(x) + uint64_t(y));  // wraps like the CPU kernel
      case CudaBinary::kSub: return T(uint64_t(x) - uint64_t(y));
      case CudaBinary::kMul: return T(uint64_t(x) * uint64_t(y));
      case CudaBinary::kDiv: return y == 0 ? T(0) : y == T(-1) ? T(uint64_t(0) - uint64_t(x)) : T(x / y);
      case CudaBinary::kPow: return T(0);
    }
  }
  return T(0);
}

// Storage type S, math type M (float for fp16).
template <class S, class M>
__global__ void binary_contiguous(CudaBinary op, const S* __restrict__ a, const S* __restrict__ b,
                                  S* __restrict__ out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    if constexpr (std::is_same_v<S, __half>)
      out[i] = __float2half_rn(apply<float>(op, __half2float(a[i]), __half2float(b[i])));
    else
      out[i] = apply<M>(op, a[i], b[i]);
  }
}

template <class S, class M>
__global__ void binary_strided(CudaBinary op, const S* __restrict__ a, const S* __restrict__ b,
                               S* __restrict__ out, StridedLayout l, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t ia = cuda::strided_offset(l, l.strides[1], i);
    int64_t ib = cuda::strided_offset(l, l.strides[2], i);
    if constexpr (std::is_same_v<S, __half>)
      out[i] = __float2half_rn(apply<float>(op, __half2float(a[ia]), __half2float(b[ib])));
    else
      out[i] = apply<M>(op, a[ia], b[ib]);
  }
}

template <class S, class M>
void launch(CudaBinary op, const void* a, const void* b, void* out, const StridedLayout& l,
            CudaStream stream) {
  int64_t n = 1;
  for (int d = 0; d < l.rank; ++d) n *= l.dims[d];
  auto pa = static_cast<const S*>(a);
  auto pb = static_cast<const S*>(b);
  auto po = static_cast<S*>(out);
  if (cuda::layout_is_contiguous(l, 3))
    binary_contiguous<S, M><<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(op, pa, pb, po, n);
  else
    binary_strided<S, M><<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(op, pa, pb, po, l, n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_binary(CudaBinary op, DType dt, const void* a, const void* b, void* out,
                   const StridedLayout& l, CudaStream stream) {
  switch (dt) {
    case DType::kF32: return launch<float, float>(op, a, b, out, l, stream);
    case DType::kF16: return launch<__half, float>(op, a, b, out, l, stream);
    case DType::kI32: return launch<int32_t, int32_t>(op, a, b, out, l, stream);
    case DType::kI64: return launch<int64_t, int64_t>(op, a, b, out, l, stream);
    default: KILN_ASSERT(!"binary dtype");
  }
}

}  // namespace kiln::ew
