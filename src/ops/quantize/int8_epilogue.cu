// kiln.Int8MatMul's last step: the int32 products to float — act(float(acc) · (x_scale ·
// w_scale[n]) + bias[n]) + residual — with the reference's roundings (int8_math.h). A thread
// takes 4 adjacent columns of a row (one 16-byte load of acc, whose rows are 16-byte aligned;
// vector residual loads and Y stores where n and the pointers allow); the (row, column group)
// of a thread comes from a 32-bit division where the count fits.
#include "ops/linear/epilogue_math.cuh"
#include "ops/quantize/int8_math.h"
#include "ops/quantize/quantize_kernels.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::quant {
namespace {

constexpr int kCols = 4;

// 4 elements of T as one access (16 bytes of float, 8 of half).
template <class T> struct alignas(4 * sizeof(T)) Quad {
  T v[kCols];
};

template <class T>
__global__ void int8_epilogue_kernel(Int8EpilogueCall c, int64_t groups, bool vec, bool index32) {
  const float sx = *c.x_scale;
  const auto* bias = static_cast<const T*>(c.bias);
  const auto* res = static_cast<const T*>(c.residual);
  auto* y = static_cast<T*>(c.y);
  const int64_t total = c.m * groups;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t r;
    if (index32) r = int64_t(uint32_t(i) / uint32_t(groups));
    else r = i / groups;
    const int64_t col = (i - r * groups) * kCols;
    const bool full = vec && col + kCols <= c.n;
    float sw[kCols], b[kCols];
#pragma unroll
    for (int j = 0; j < kCols; ++j) {
      const int64_t cj = col + j < c.n ? col + j : col;
      sw[j] = c.w_scale[c.per_channel ? cj : 0];
      b[j] = bias ? cuda::load_f(bias, cj) : 0.f;
    }
    const int4 a = *reinterpret_cast<const int4*>(c.acc + r * c.ldacc + col);
    const int32_t acc[kCols] = {a.x, a.y, a.z, a.w};
    float rv[kCols] = {0.f, 0.f, 0.f, 0.f};
    if (res && full) {
      const Quad<T> q = *reinterpret_cast<const Quad<T>*>(res + r * c.n + col);
#pragma unroll
      for (int j = 0; j < kCols; ++j) rv[j] = cuda::load_f(q.v, j);
    } else if (res) {
#pragma unroll
      for (int j = 0; j < kCols; ++j)
        if (col + j < c.n) rv[j] = cuda::load_f(res, r * c.n + col + j);
    }
    Quad<T> out;
#pragma unroll
    for (int j = 0; j < kCols; ++j) {
      float v = dequantize_acc(acc[j], sx, sw[j]);
      if (bias) v = add_rn(v, b[j]);
      v = linear::activate_f(c.act, v);
      if (res) v = add_rn(v, rv[j]);
      cuda::store_f(out.v, j, v);
    }
    if (full) {
      *reinterpret_cast<Quad<T>*>(y + r * c.n + col) = out;
    } else {
#pragma unroll
      for (int j = 0; j < kCols; ++j)
        if (col + j < c.n) y[r * c.n + col + j] = out.v[j];
    }
  }
}

}  // namespace

void launch_int8_epilogue(const Int8EpilogueCall& c, CudaStream stream) {
  KILN_ASSERT(c.ldacc % kCols == 0 && cuda::aligned16(c.acc));
  if (c.m * c.n == 0) return;
  const int64_t groups = (c.n + kCols - 1) / kCols, total = c.m * groups;
  const unsigned grid = cuda::grid_for(total);
  const bool index32 = total < (int64_t(1) << 32);
  const size_t quad = kCols * dtype_size(c.y_type);
  auto aligned = [&](const void* p) { return !p || reinterpret_cast<uintptr_t>(p) % quad == 0; };
  const bool vec = c.n % kCols == 0 && aligned(c.y) && aligned(c.residual);
  if (c.y_type == DType::kF32) int8_epilogue_kernel<float><<<grid, cuda::kThreads, 0, stream>>>(c, groups, vec, index32);
  else if (c.y_type == DType::kF16) int8_epilogue_kernel<__half><<<grid, cuda::kThreads, 0, stream>>>(c, groups, vec, index32);
  else KILN_ASSERT(!"int8 epilogue type");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::quant
