// QuantizeLinear on the GPU: the CPU reference's steps (quantize_linear.cpp) — the quotient in
// x's type (float32 division, rounded to float16 for float16 x; exact double for int32 x),
// round half to even, the zero point added after rounding, saturation, NaN → 0.
#include <cuda_fp16.h>

#include "ops/quantize/quantize_kernels.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::quant {
namespace {

template <class X, class Y, class S>
__global__ void quantize_kernel(const X* __restrict__ x, Y* __restrict__ y, const S* __restrict__ scale,
                                const Y* __restrict__ zero, int64_t n, int64_t inner, int64_t count) {
  constexpr double lo = Y(-1) < Y(0) ? -128.0 : 0.0, hi = Y(-1) < Y(0) ? 127.0 : 255.0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = count == 1 ? 0 : (i / inner) % count;
    const float s = cuda::load_f(scale, c);
    double q;
    if constexpr (std::is_same_v<X, int32_t>) {
      q = rint(double(x[i]) / double(s));
    } else {
      float f = __fdiv_rn(cuda::load_f(x, i), s);
      if constexpr (std::is_same_v<X, __half>) f = __half2float(__float2half_rn(f));
      q = double(rintf(f));
    }
    const double z = zero ? double(zero[c]) : 0.0;
    y[i] = q != q ? Y(0) : Y(fmin(fmax(q + z, lo), hi));
  }
}

template <class X, class S>
void launch_x(const QdqCall& c, CudaStream stream) {
  const auto* x = static_cast<const X*>(c.x);
  const auto* s = static_cast<const S*>(c.scale);
  const unsigned grid = cuda::grid_for(c.n);
  if (c.y_type == DType::kI8)
    quantize_kernel<<<grid, cuda::kThreads, 0, stream>>>(x, static_cast<int8_t*>(c.y), s,
                                                          static_cast<const int8_t*>(c.zero), c.n, c.inner, c.count);
  else
    quantize_kernel<<<grid, cuda::kThreads, 0, stream>>>(x, static_cast<uint8_t*>(c.y), s,
                                                          static_cast<const uint8_t*>(c.zero), c.n, c.inner, c.count);
}

}  // namespace

void launch_quantize_linear(const QdqCall& c, CudaStream stream) {
  if (c.n == 0) return;
  if (c.x_type == DType::kF32) launch_x<float, float>(c, stream);
  else if (c.x_type == DType::kF16) launch_x<__half, __half>(c, stream);
  else if (c.x_type == DType::kI32) launch_x<int32_t, float>(c, stream);
  else KILN_ASSERT(!"quantize x type");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::quant
