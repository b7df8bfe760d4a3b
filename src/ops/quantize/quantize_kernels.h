// Launchers of the quantize family's device code, plain data only so the .cu files stay light.
#pragma once
#include <cstdint>

#include "ir/dtype.h"
#include "ops/linear/epilogue.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::quant {

// One QuantizeLinear/DequantizeLinear call: element i uses channel (i / inner) % count of the
// scale and zero point (count 1: per tensor); zero may be null (0).
struct QdqCall {
  const void* x = nullptr;
  void* y = nullptr;
  const void* scale = nullptr;
  const void* zero = nullptr;
  DType x_type = DType::kUndefined, y_type = DType::kUndefined, scale_type = DType::kUndefined;
  int64_t n = 0, inner = 1, count = 1;
};
void launch_quantize_linear(const QdqCall& c, CudaStream stream);    // quantize_linear.cu
void launch_dequantize_linear(const QdqCall& c, CudaStream stream);  // dequantize_linear.cu

// xq [m, kp] int8 = quantize_int8(x [m, k], *x_scale), columns k..kp zero; kp a multiple of 16,
// xq 16-byte aligned
// (int8_rows.cu).
void launch_quantize_rows(DType x_type, const void* x, const float* x_scale, int8_t* xq, int64_t m, int64_t k,
                          int64_t kp, CudaStream stream);
// y [m, n] = act(acc [m, ldacc] · (x_scale · w_scale[n or 0]) + bias[n]) + residual [m, n]
// (int8_epilogue.cu); bias and residual may be null.
struct Int8EpilogueCall {
  const int32_t* acc = nullptr;
  int64_t ldacc = 0;
  const float* x_scale = nullptr;
  const float* w_scale = nullptr;
  bool per_channel = false;
  const void* bias = nullptr;
  const void* residual = nullptr;
  void* y = nullptr;
  DType y_type = DType::kF32;
  int64_t m = 0, n = 0;
  linear::EpilogueActivation act = linear::EpilogueActivation::kNone;
};
void launch_int8_epilogue(const Int8EpilogueCall& c, CudaStream stream);
// acc [m, np] = xq [m, kp] · wt [np, kp]ᵀ in int32 with dp4a on CUDA cores: the path for
// problems cuBLASLt's int8 kernels refuse (int8_gemm_dp4a.cu); kp a multiple of 16, rows
// 4-byte aligned; `batch` problems at element strides (multiples of 4; 0: shared), ≤ 65535.
void launch_int8_gemm_dp4a(const int8_t* xq, const int8_t* wt, int32_t* acc, int64_t m, int64_t np, int64_t kp,
                           CudaStream stream, int64_t batch = 1, int64_t stride_x = 0, int64_t stride_w = 0,
                           int64_t stride_acc = 0);

// kiln.Int8Conv's geometry (2-D, group 1) for the device.
struct Int8ConvGeom {
  int64_t c = 0, h = 0, w = 0, oh = 0, ow = 0, kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, ph = 0, pw = 0;
};
// cols [n, pp, kp] int8: row p = (oy, ox) of image n holds its quantized window in W's
// (c, i, j) order, zeros in the padding, beyond K = c·kh·kw and in rows p ≥ oh·ow
// (int8_im2col.cu); kp a multiple of 16.
void launch_int8_im2col(DType x_type, const void* x, const float* x_scale, int8_t* cols, int64_t n,
                        const Int8ConvGeom& g, int64_t pp, int64_t kp, CudaStream stream);
// y [n, o, p] = act(acc [n, op, pp] · (x_scale · w_scale[o or 0]) + bias[o] + z [n, o, p])
// (int8_conv_epilogue.cu); bias and z may be null; pp a multiple of 4.
struct Int8ConvEpilogueCall {
  const int32_t* acc = nullptr;
  int64_t op = 0, pp = 0;  // acc's channel and pixel extents (padded)
  const float* x_scale = nullptr;
  const float* w_scale = nullptr;
  bool per_channel = false;
  const void* bias = nullptr;
  const void* z = nullptr;
  void* y = nullptr;
  DType y_type = DType::kF32;
  int64_t n = 0, o = 0, p = 0;
  linear::EpilogueActivation act = linear::EpilogueActivation::kNone;
};
void launch_int8_conv_epilogue(const Int8ConvEpilogueCall& c, CudaStream stream);

}  // namespace kiln::quant
