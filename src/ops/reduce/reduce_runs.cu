// ReduceSum / Mean / Max / Min where the reduced axes are one contiguous run of a contiguous
// input, viewed as [outer, n, inner]. The general kernel (reduce_kernel.cu) gives each output
// one thread and divides per element: AnchorDETR's key means over rows or columns of [B, h, w, C]
// (~20k outputs, 50-76 terms each) ran at ~2% of bandwidth. Here the n terms of an output are
// split over threads so both loads and parallelism scale: a 32 x 8 block reads 32 adjacent inner
// elements per term (coalesced) with 8 threads along n; inner == 1 gives each output a warp.
// Same accumulation as the general kernel (reduce_acc.cuh).
#include "kiln/status.h"
#include "ops/reduce/reduce_acc.cuh"
#include "ops/reduce/reduce_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::reduce {
namespace {

// One partial result: the running sum, or the running max/min with a NaN flag; `any` is false
// until a term arrived (threads past n contribute nothing).
template <class A> struct Part {
  A v = A(0);
  bool any = false, nan = false;
};

template <int kOp, class A> __device__ __forceinline__ void add(Part<A>& p, A x) {
  if constexpr (kOp <= 1) {
    if constexpr (std::is_integral_v<A>) p.v = A(uint64_t(p.v) + uint64_t(x));
    else p.v += x;
  } else {
    if constexpr (!std::is_integral_v<A>) p.nan = p.nan || x != x;
    if (!p.any) p.v = x;
    else p.v = kOp == 2 ? (x > p.v ? x : p.v) : (x < p.v ? x : p.v);
  }
  p.any = true;
}

template <int kOp, class A> __device__ __forceinline__ void merge(Part<A>& p, const Part<A>& q) {
  if (!q.any) return;
  add<kOp>(p, q.v);
  p.nan = p.nan || q.nan;
}

template <class T, int kOp, class A> __device__ __forceinline__ void finish(T* y, int64_t i, Part<A> p, int64_t n) {
  if (kOp == 1) p.v = p.v / A(n);
  if constexpr (std::is_integral_v<T>) {
    y[i] = T(p.v);
  } else {
    cuda::store_f(y, i, float(p.nan ? A(NAN) : p.v));
  }
}

template <class A> __device__ __forceinline__ Part<A> shuffle_down(const Part<A>& p, int by) {
  Part<A> q;
  q.v = __shfl_down_sync(0xffffffffu, p.v, by);
  q.any = __shfl_down_sync(0xffffffffu, int(p.any), by) != 0;
  q.nan = __shfl_down_sync(0xffffffffu, int(p.nan), by) != 0;
  return q;
}

constexpr int kCols = 32, kSplit = 8;

// grid (ceil(inner / 32), outer chunks); block (32, 8).
template <class T, int kOp>
__global__ void reduce_columns(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t n, int64_t inner) {
  using A = Acc<T>;
  __shared__ Part<A> parts[kSplit][kCols];
  const int64_t c = int64_t(blockIdx.x) * kCols + threadIdx.x;
  for (int64_t o = blockIdx.y; o < outer; o += gridDim.y) {
    Part<A> p;
    if (c < inner)
      for (int64_t j = threadIdx.y; j < n; j += kSplit) add<kOp>(p, load_acc(x, (o * n + j) * inner + c));
    parts[threadIdx.y][threadIdx.x] = p;
    __syncthreads();
    if (threadIdx.y == 0 && c < inner) {
      for (int k = 1; k < kSplit; ++k) merge<kOp>(p, parts[k][threadIdx.x]);
      finish<T, kOp>(y, o * inner + c, p, n);
    }
    __syncthreads();
  }
}

// One warp per output row of n contiguous terms (inner == 1).
template <class T, int kOp>
__global__ void reduce_rows(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t n) {
  using A = Acc<T>;
  const int lane = threadIdx.x & 31;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t o = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32; o < outer; o += warps) {
    Part<A> p;
    for (int64_t j = lane; j < n; j += 32) add<kOp>(p, load_acc(x, o * n + j));
    for (int by = 16; by > 0; by /= 2) merge<kOp>(p, shuffle_down(p, by));
    if (lane == 0) finish<T, kOp>(y, o, p, n);
  }
}

template <class T, int kOp>
void launch_op(const void* x, void* y, int64_t outer, int64_t n, int64_t inner, CudaStream s) {
  auto px = static_cast<const T*>(x);
  auto py = static_cast<T*>(y);
  if (inner == 1) {
    const int64_t blocks = (outer + 7) / 8;
    reduce_rows<T, kOp><<<unsigned(blocks < 65535 * 8 ? blocks : 65535 * 8), 256, 0, s>>>(px, py, outer, n);
    return;
  }
  const int64_t cols = (inner + kCols - 1) / kCols;
  KILN_ASSERT(cols <= 0x7fffffff);
  dim3 grid(unsigned(cols), unsigned(outer < 65535 ? outer : 65535));
  reduce_columns<T, kOp><<<grid, dim3(kCols, kSplit), 0, s>>>(px, py, outer, n, inner);
}

template <class T>
void launch_as(int op, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, CudaStream s) {
  switch (op) {
    case 0: return launch_op<T, 0>(x, y, outer, n, inner, s);
    case 1: return launch_op<T, 1>(x, y, outer, n, inner, s);
    case 2: return launch_op<T, 2>(x, y, outer, n, inner, s);
    default: return launch_op<T, 3>(x, y, outer, n, inner, s);
  }
}

}  // namespace

void launch_reduce_run(int op, DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
                       CudaStream stream) {
  if (outer * inner == 0) return;
  switch (dt) {
    case DType::kF32: launch_as<float>(op, x, y, outer, n, inner, stream); break;
    case DType::kF16: launch_as<__half>(op, x, y, outer, n, inner, stream); break;
    case DType::kI64: launch_as<int64_t>(op, x, y, outer, n, inner, stream); break;
    case DType::kI32: launch_as<int32_t>(op, x, y, outer, n, inner, stream); break;
    default: KILN_ASSERT(!"reduce dtype");
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::reduce
