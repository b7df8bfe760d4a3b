// Separable 2-D resampling on the GPU, taps from tables: a row kernel for nearest/linear taps,
// one thread per output element for the rest (cubic).
#include "kiln/status.h"
#include "ops/spatial/spatial_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::spatial {
namespace {

// I: the index type. 64-bit division is emulated on the GPU and cost more than the taps' loads
// (4-8% of bandwidth on SegFormer's decode head), so sizes below 2^31 divide in 32 bits.
template <class T, class I>
__global__ void resize_2d_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t planes,
                                 int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
                                 ResizeTaps2D t) {
  const I n = I(planes * out_h * out_w), ow_n = I(out_w), oh_n = I(out_h);
  for (I i = I(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += I(gridDim.x) * blockDim.x) {
    const I rest = i / ow_n, ow = i - rest * ow_n, p = rest / oh_n, oh = rest - p * oh_n;
    const T* plane = x + int64_t(p) * in_h * in_w;
    float acc = 0.f;
    for (int a = 0; a < t.h_taps; ++a) {
      const float wh = t.h_weight[oh * t.h_taps + a];
      const T* row = plane + int64_t(t.h_index[oh * t.h_taps + a]) * in_w;
      float racc = 0.f;
      for (int b = 0; b < t.w_taps; ++b)
        racc += t.w_weight[ow * t.w_taps + b] * cuda::load_f(row, t.w_index[ow * t.w_taps + b]);
      acc += wh * racc;
    }
    cuda::store_f(y, int64_t(i), acc);
  }
}

// Nearest and linear taps (1 or 2 per axis): a block covers 8 output rows by 32 groups of 16
// bytes of adjacent outputs, each thread one group stored with one 16-byte write when the rows
// allow it. No index is divided and a row's taps are read once per thread. One output per
// thread and 128-thread blocks ran SegFormer's decode-head upsamplings at 10-12% of bandwidth.
constexpr int kRowsPerBlock = 8, kGroupsPerBlock = 32;

template <class T, int HT, int WT>
__global__ void resize_rows_kernel(const T* __restrict__ x, T* __restrict__ y, int in_h, int in_w, int out_h,
                                   int out_w, bool vector_store, ResizeTaps2D t) {
  using V = cuda::Vec16<T>;
  constexpr int kVec = V::kCount;
  const int oh = blockIdx.y * kRowsPerBlock + threadIdx.y;
  const int ow0 = (blockIdx.x * kGroupsPerBlock + threadIdx.x) * kVec;
  if (oh >= out_h || ow0 >= out_w) return;
  const int64_t p = blockIdx.z;
  const T* plane = x + p * in_h * in_w;
  const T* rows[HT];
  float wh[HT];
#pragma unroll
  for (int a = 0; a < HT; ++a) {
    rows[a] = plane + int64_t(t.h_index[oh * HT + a]) * in_w;
    wh[a] = t.h_weight[oh * HT + a];
  }
  T* yrow = y + (p * out_h + oh) * out_w;
  V out;
#pragma unroll
  for (int k = 0; k < kVec; ++k) {
    const int ow = ow0 + k < out_w ? ow0 + k : out_w - 1;  // the tail repeats the last column, unstored
    float acc = 0.f;
#pragma unroll
    for (int b = 0; b < WT; ++b) {
      const int wi = t.w_index[ow * WT + b];
      float col = 0.f;
#pragma unroll
      for (int a = 0; a < HT; ++a) col += wh[a] * cuda::load_f(rows[a], wi);
      acc += t.w_weight[ow * WT + b] * col;
    }
    if constexpr (std::is_same_v<T, __half>) out.v[k] = __float2half_rn(acc);
    else out.v[k] = acc;
  }
  if (vector_store && ow0 + kVec <= out_w) {
    *reinterpret_cast<V*>(yrow + ow0) = out;
  } else {
    for (int k = 0; k < kVec && ow0 + k < out_w; ++k) yrow[ow0 + k] = out.v[k];
  }
}

template <class T, int HT, int WT>
void launch_rows(const void* x, void* y, int64_t planes, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
                 const ResizeTaps2D& taps, CudaStream stream) {
  constexpr int kVec = cuda::Vec16<T>::kCount;
  const int64_t cols_per_block = int64_t(kGroupsPerBlock) * kVec;
  dim3 grid(unsigned((out_w + cols_per_block - 1) / cols_per_block), unsigned((out_h + kRowsPerBlock - 1) / kRowsPerBlock),
            unsigned(planes));
  // Every row starts 16-byte aligned when the base is and a row holds whole groups.
  const bool vector_store = cuda::aligned16(y) && out_w % kVec == 0;
  resize_rows_kernel<T, HT, WT><<<grid, dim3(kGroupsPerBlock, kRowsPerBlock), 0, stream>>>(
      static_cast<const T*>(x), static_cast<T*>(y), int(in_h), int(in_w), int(out_h), int(out_w), vector_store, taps);
  CUDA_CHECK_LAUNCH();
}

template <class T>
bool try_rows(const void* x, void* y, int64_t planes, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
              const ResizeTaps2D& t, CudaStream stream) {
  if (planes > 65535 || out_h > 65535 || in_h * in_w > 0x7fffffff || out_w > 0x7fffffff) return false;
  if (t.h_taps == 1 && t.w_taps == 1) return launch_rows<T, 1, 1>(x, y, planes, in_h, in_w, out_h, out_w, t, stream), true;
  if (t.h_taps == 2 && t.w_taps == 2) return launch_rows<T, 2, 2>(x, y, planes, in_h, in_w, out_h, out_w, t, stream), true;
  if (t.h_taps == 1 && t.w_taps == 2) return launch_rows<T, 1, 2>(x, y, planes, in_h, in_w, out_h, out_w, t, stream), true;
  if (t.h_taps == 2 && t.w_taps == 1) return launch_rows<T, 2, 1>(x, y, planes, in_h, in_w, out_h, out_w, t, stream), true;
  return false;
}

}  // namespace

void launch_resize_2d(DType dt, const void* x, void* y, int64_t planes, int64_t in_h, int64_t in_w,
                      int64_t out_h, int64_t out_w, const ResizeTaps2D& taps, CudaStream stream) {
  const int64_t n = planes * out_h * out_w;
  if (n == 0) return;
  const bool small = n <= 0x7fffffff;
  if (dt == DType::kF32 && try_rows<float>(x, y, planes, in_h, in_w, out_h, out_w, taps, stream)) return;
  if (dt == DType::kF16 && try_rows<__half>(x, y, planes, in_h, in_w, out_h, out_w, taps, stream)) return;
  if (dt == DType::kF32) {
    auto px = static_cast<const float*>(x);
    auto py = static_cast<float*>(y);
    if (small)
      resize_2d_kernel<float, uint32_t><<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(px, py, planes, in_h, in_w, out_h, out_w, taps);
    else
      resize_2d_kernel<float, int64_t><<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(px, py, planes, in_h, in_w, out_h, out_w, taps);
  } else if (dt == DType::kF16) {
    auto px = static_cast<const __half*>(x);
    auto py = static_cast<__half*>(y);
    if (small)
      resize_2d_kernel<__half, uint32_t><<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(px, py, planes, in_h, in_w, out_h, out_w, taps);
    else
      resize_2d_kernel<__half, int64_t><<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(px, py, planes, in_h, in_w, out_h, out_w, taps);
  } else {
    KILN_ASSERT(!"resize dtype");
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::spatial
