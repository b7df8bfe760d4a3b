// ReduceSum / ReduceMean / ReduceMax / ReduceMin on the GPU: one thread per output element,
// looping over the reduced elements (two strided layouts: kept dims and reduced dims, both
// with input strides). Floats sum in double as the CPU reference does; integers in int64
// (wrapping), their mean truncating like the reference's.
#include "kiln/status.h"
#include "ops/reduce/reduce_acc.cuh"
#include "ops/reduce/reduce_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::reduce {
namespace {

using cuda::StridedLayout;

template <class T, int kOp>
__global__ void reduce_kernel(const T* __restrict__ x, T* __restrict__ y, StridedLayout kept, StridedLayout red,
                              int64_t n_out, int64_t n_red) {
  using A = Acc<T>;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n_out;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t base = cuda::strided_offset(kept, kept.strides[0], i);
    A acc = A(0);
    bool nan = false;
    for (int64_t j = 0; j < n_red; ++j) {
      const A v = load_acc(x, base + cuda::strided_offset(red, red.strides[0], j));
      if constexpr (kOp <= 1) {
        if constexpr (std::is_integral_v<A>) acc = A(uint64_t(acc) + uint64_t(v));
        else acc += v;
      } else {
        if constexpr (!std::is_integral_v<A>) nan = nan || v != v;
        if (j == 0) acc = v;
        else acc = kOp == 2 ? (v > acc ? v : acc) : (v < acc ? v : acc);
      }
    }
    if (kOp == 1) acc = acc / A(n_red);
    if constexpr (std::is_integral_v<T>) {
      y[i] = T(acc);
    } else {
      if (nan) acc = A(NAN);
      cuda::store_f(y, i, float(acc));
    }
  }
}

template <class T>
void launch_as(int op, const void* x, void* y, const StridedLayout& kept, const StridedLayout& red, int64_t n_out,
               int64_t n_red, CudaStream s) {
  auto px = static_cast<const T*>(x);
  auto py = static_cast<T*>(y);
  const unsigned grid = cuda::grid_for(n_out);
  switch (op) {
    case 0: reduce_kernel<T, 0><<<grid, cuda::kThreads, 0, s>>>(px, py, kept, red, n_out, n_red); break;
    case 1: reduce_kernel<T, 1><<<grid, cuda::kThreads, 0, s>>>(px, py, kept, red, n_out, n_red); break;
    case 2: reduce_kernel<T, 2><<<grid, cuda::kThreads, 0, s>>>(px, py, kept, red, n_out, n_red); break;
    default: reduce_kernel<T, 3><<<grid, cuda::kThreads, 0, s>>>(px, py, kept, red, n_out, n_red); break;
  }
}

}  // namespace

void launch_reduce(int op, DType dt, const void* x, void* y, const StridedLayout& kept, const StridedLayout& red,
                   int64_t n_out, int64_t n_red, CudaStream stream) {
  if (n_out == 0) return;
  switch (dt) {
    case DType::kF32: launch_as<float>(op, x, y, kept, red, n_out, n_red, stream); break;
    case DType::kF16: launch_as<__half>(op, x, y, kept, red, n_out, n_red, stream); break;
    case DType::kI64: launch_as<int64_t>(op, x, y, kept, red, n_out, n_red, stream); break;
    case DType::kI32: launch_as<int32_t>(op, x, y, kept, red, n_out, n_red, stream); break;
    default: KILN_ASSERT(!"reduce dtype");
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::reduce
