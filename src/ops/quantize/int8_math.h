// The float steps of kiln.Int8MatMul (int8_matmul.h), written once for the CPU reference and
// the CUDA kernels: host and device compile the same IEEE operations (explicit _rn intrinsics
// on the device so nvcc contracts nothing into an FMA).
#pragma once
#include <cstdint>
#ifdef __CUDACC__
#define KILN_QHD __host__ __device__ __forceinline__
#else
#include <cmath>
#define KILN_QHD inline
#endif

namespace kiln::quant {

// saturate_int8(round_half_even(x / scale)); NaN → 0, as the CPU QuantizeLinear does.
KILN_QHD int8_t quantize_int8(float x, float scale) {
#ifdef __CUDA_ARCH__
  const float q = rintf(__fdiv_rn(x, scale));
#else
  const float q = std::nearbyint(x / scale);
#endif
  if (q != q) return 0;
  return int8_t(q < -128.f ? -128.f : q > 127.f ? 127.f : q);
}

// float(acc) · (x_scale · w_scale), each product rounded to float32.
KILN_QHD float dequantize_acc(int32_t acc, float x_scale, float w_scale) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(__int2float_rn(acc), __fmul_rn(x_scale, w_scale));
#else
  return float(acc) * (x_scale * w_scale);
#endif
}

KILN_QHD float add_rn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

}  // namespace kiln::quant
