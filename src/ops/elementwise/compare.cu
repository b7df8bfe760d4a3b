// CUDA comparisons and bool logic (-> bool, broadcasting), Not, and Where.
#include "kiln/status.h"
#include "ops/elementwise/elementwise_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::ew {
namespace {

using cuda::StridedLayout;

template <class T> __device__ __forceinline__ bool apply(CudaCompare op, T x, T y) {
  switch (op) {
    case CudaCompare::kEqual: return x == y;
    case CudaCompare::kLess: return x < y;
    case CudaCompare::kGreater: return x > y;
    case CudaCompare::kLessOrEqual: return x <= y;
    case CudaCompare::kGreaterOrEqual: return x >= y;
    case CudaCompare::kAnd: return bool(x) && bool(y);
    case CudaCompare::kOr: return bool(x) || bool(y);
    case CudaCompare::kXor: return bool(x) != bool(y);
  }
  return false;
}

template <class T>
__global__ void compare_kernel(CudaCompare op, const T* __restrict__ a, const T* __restrict__ b,
                               bool* __restrict__ out, StridedLayout l, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t ia = cuda::strided_offset(l, l.strides[1], i), ib = cuda::strided_offset(l, l.strides[2], i);
    if constexpr (std::is_same_v<T, __half>)
      out[i] = apply<float>(op, __half2float(a[ia]), __half2float(b[ib]));
    else
      out[i] = apply<T>(op, a[ia], b[ib]);
  }
}

__global__ void not_kernel(const bool* __restrict__ in, bool* __restrict__ out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = !in[i];
}

template <class T>
__global__ void where_kernel(const bool* __restrict__ c, const T* __restrict__ x, const T* __restrict__ y,
                             T* __restrict__ out, StridedLayout l, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = c[cuda::strided_offset(l, l.strides[1], i)] ? x[cuda::strided_offset(l, l.strides[2], i)]
                                                         : y[cuda::strided_offset(l, l.strides[3], i)];
}

int64_t count(const StridedLayout& l) {
  int64_t n = 1;
  for (int d = 0; d < l.rank; ++d) n *= l.dims[d];
  return n;
}

template <class T>
void compare_as(CudaCompare op, const void* a, const void* b, bool* out, const StridedLayout& l, CudaStream s) {
  const int64_t n = count(l);
  compare_kernel<T><<<cuda::grid_for(n), cuda::kThreads, 0, s>>>(op, static_cast<const T*>(a),
                                                                 static_cast<const T*>(b), out, l, n);
}

template <class T>
void where_as(const bool* c, const void* x, const void* y, void* out, const StridedLayout& l, CudaStream s) {
  const int64_t n = count(l);
  where_kernel<T><<<cuda::grid_for(n), cuda::kThreads, 0, s>>>(c, static_cast<const T*>(x), static_cast<const T*>(y),
                                                               static_cast<T*>(out), l, n);
}

}  // namespace

void launch_compare(CudaCompare op, DType dt, const void* a, const void* b, bool* out, const StridedLayout& l,
                    CudaStream stream) {
  switch (dt) {
    case DType::kF32: compare_as<float>(op, a, b, out, l, stream); break;
    case DType::kF16: compare_as<__half>(op, a, b, out, l, stream); break;
    case DType::kI64: compare_as<int64_t>(op, a, b, out, l, stream); break;
    case DType::kI32: compare_as<int32_t>(op, a, b, out, l, stream); break;
    case DType::kI8: compare_as<int8_t>(op, a, b, out, l, stream); break;
    case DType::kU8: compare_as<uint8_t>(op, a, b, out, l, stream); break;
    case DType::kBool: compare_as<bool>(op, a, b, out, l, stream); break;
    default: KILN_ASSERT(!"compare dtype");
  }
  CUDA_CHECK_LAUNCH();
}

void launch_not(const bool* in, bool* out, int64_t n, CudaStream stream) {
  if (n == 0) return;
  not_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(in, out, n);
  CUDA_CHECK_LAUNCH();
}

void launch_where(const bool* c, const void* x, const void* y, void* out, size_t elem_size, const StridedLayout& l,
                  CudaStream stream) {
  switch (elem_size) {
    case 1: where_as<uint8_t>(c, x, y, out, l, stream); break;
    case 2: where_as<uint16_t>(c, x, y, out, l, stream); break;
    case 4: where_as<uint32_t>(c, x, y, out, l, stream); break;
    case 8: where_as<uint64_t>(c, x, y, out, l, stream); break;
    default: KILN_ASSERT(!"where element size");
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::ew
