// Softmax / LogSoftmax on the GPU, and kiln.MaskedSoftmax (the row kernels with a mask: masked
// elements read as -inf). Rows along the innermost axis: one warp per row up to 1024 elements
// (in registers), else one block per row (max, sum of exp, write). Along another axis: one thread
// per (outer, inner) column, three passes.
#include "kiln/status.h"
#include "ops/reduce/reduce_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::reduce {
namespace {

// Plain Softmax: nothing is masked.
struct NoMask {
  struct Row {
    __device__ bool operator[](int64_t) const { return false; }
  };
  __device__ Row row(int64_t) const { return {}; }
};

// A bool mask broadcast to the rows: row r starts at strided_offset(lead, r), element i is
// `step` further per i (0 where the mask is broadcast along the row).
struct RowMask {
  const bool* m;
  cuda::StridedLayout lead;
  int64_t step;
  struct Row {
    const bool* p;
    int64_t step;
    __device__ bool operator[](int64_t i) const { return p[i * step]; }
  };
  __device__ Row row(int64_t r) const { return {m + cuda::strided_offset(lead, lead.strides[0], r), step}; }
};

template <class T, class Row> __device__ __forceinline__ float masked_load(const T* xr, const Row& mr, int64_t i) {
  return mr[i] ? -INFINITY : cuda::load_f(xr, i);
}

template <class T, bool kLog, class Mask>
__global__ void softmax_rows(const T* __restrict__ x, T* __restrict__ y, int64_t n, Mask mask) {
  const T* xr = x + blockIdx.x * n;
  T* yr = y + blockIdx.x * n;
  const auto mr = mask.row(blockIdx.x);
  float m = -INFINITY;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, masked_load(xr, mr, i));
  m = cuda::block_reduce<true>(m);
  float s = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += expf(masked_load(xr, mr, i) - m);
  s = cuda::block_reduce<false>(s);
  if (kLog) {
    const float ls = logf(s);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) cuda::store_f(yr, i, masked_load(xr, mr, i) - m - ls);
  } else {
    const float inv = 1.f / s;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
      cuda::store_f(yr, i, expf(masked_load(xr, mr, i) - m) * inv);
  }
}

// Rows of at most 32*kPerLane elements: one warp per row holding it in registers, so the row is
// read once and written once (the block kernel reads it three times; attention rows of 1024 ran
// at 20% of bandwidth with it).
template <class T, bool kLog, int kPerLane, class Mask>
__global__ void softmax_rows_warp(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int n, Mask mask) {
  const int64_t row = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;
  const int lane = threadIdx.x & 31;
  const T* xr = x + row * n;
  T* yr = y + row * n;
  const auto mr = mask.row(row);
  float v[kPerLane];
  float m = -INFINITY;
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int i = k * 32 + lane;
    v[k] = i < n ? masked_load(xr, mr, i) : -INFINITY;
    m = fmaxf(m, v[k]);
  }
  m = cuda::warp_max(m);
  float s = 0.f;
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int i = k * 32 + lane;
    if (i < n) s += expf(v[k] - m);
  }
  s = cuda::warp_sum(s);
  const float ls = logf(s), inv = 1.f / s;
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int i = k * 32 + lane;
    if (i < n) cuda::store_f(yr, i, kLog ? v[k] - m - ls : expf(v[k] - m) * inv);
  }
}

template <class T, bool kLog, int kPerLane, class Mask>
void launch_warp_rows(const T* x, T* y, int64_t rows, int64_t n, const Mask& mask, CudaStream stream) {
  constexpr int kRowsPerBlock = 8;
  softmax_rows_warp<T, kLog, kPerLane><<<unsigned((rows + kRowsPerBlock - 1) / kRowsPerBlock), 32 * kRowsPerBlock, 0,
                                        stream>>>(x, y, rows, int(n), mask);
}

// Rows of n contiguous elements (inner 1).
template <class T, bool kLog, class Mask>
void launch_rows(const T* x, T* y, int64_t rows, int64_t n, const Mask& mask, CudaStream stream) {
  if (n <= 1024 && (rows + 7) / 8 <= 0x7fffffff) {
    if (n <= 32) launch_warp_rows<T, kLog, 1>(x, y, rows, n, mask, stream);
    else if (n <= 128) launch_warp_rows<T, kLog, 4>(x, y, rows, n, mask, stream);
    else if (n <= 256) launch_warp_rows<T, kLog, 8>(x, y, rows, n, mask, stream);
    else if (n <= 512) launch_warp_rows<T, kLog, 16>(x, y, rows, n, mask, stream);
    else launch_warp_rows<T, kLog, 32>(x, y, rows, n, mask, stream);
  } else {
    KILN_ASSERT(rows <= 0x7fffffff);
    int threads = n >= 1024 ? 512 : n >= 256 ? 256 : n >= 64 ? 128 : 32;
    softmax_rows<T, kLog><<<unsigned(rows), threads, 0, stream>>>(x, y, n, mask);
  }
  CUDA_CHECK_LAUNCH();
}

template <class T, bool kLog>
__global__ void softmax_columns(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t n,
                                int64_t inner) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < outer * inner;
       c += int64_t(gridDim.x) * blockDim.x) {
    const int64_t base = (c / inner) * n * inner + c % inner;
    float m = -INFINITY;
    for (int64_t i = 0; i < n; ++i) m = fmaxf(m, cuda::load_f(x, base + i * inner));
    float s = 0.f;
    for (int64_t i = 0; i < n; ++i) s += expf(cuda::load_f(x, base + i * inner) - m);
    const float ls = logf(s), inv = 1.f / s;
    for (int64_t i = 0; i < n; ++i) {
      float v = cuda::load_f(x, base + i * inner) - m;
      cuda::store_f(y, base + i * inner, kLog ? v - ls : expf(v) * inv);
    }
  }
}

template <class T, bool kLog>
void launch(const void* xv, void* yv, int64_t outer, int64_t n, int64_t inner, CudaStream stream) {
  auto x = static_cast<const T*>(xv);
  auto y = static_cast<T*>(yv);
  if (inner == 1) return launch_rows<T, kLog>(x, y, outer, n, NoMask{}, stream);
  softmax_columns<T, kLog><<<cuda::grid_for(outer * inner), cuda::kThreads, 0, stream>>>(x, y, outer, n, inner);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_softmax(DType dt, bool log, const void* x, void* y, int64_t outer, int64_t n,
                    int64_t inner, CudaStream stream) {
  if (outer * n * inner == 0) return;
  if (dt == DType::kF32) return log ? launch<float, true>(x, y, outer, n, inner, stream)
                                    : launch<float, false>(x, y, outer, n, inner, stream);
  if (dt == DType::kF16) return log ? launch<__half, true>(x, y, outer, n, inner, stream)
                                    : launch<__half, false>(x, y, outer, n, inner, stream);
  KILN_ASSERT(!"softmax dtype");
}

void launch_masked_softmax(DType dt, const void* x, const bool* mask, const cuda::StridedLayout& lead,
                           int64_t mask_step, void* y, int64_t rows, int64_t n, CudaStream stream) {
  if (rows * n == 0) return;
  const RowMask m{mask, lead, mask_step};
  if (dt == DType::kF32)
    return launch_rows<float, false>(static_cast<const float*>(x), static_cast<float*>(y), rows, n, m, stream);
  if (dt == DType::kF16)
    return launch_rows<__half, false>(static_cast<const __half*>(x), static_cast<__half*>(y), rows, n, m, stream);
  KILN_ASSERT(!"masked softmax dtype");
}

}  // namespace kiln::reduce
