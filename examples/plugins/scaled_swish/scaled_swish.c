/* Example.ScaledSwish: y = alpha * x * sigmoid(beta * x), float32 and float16, written in plain
 * C against include/kiln/op.h to show a plugin needs nothing of kiln's C++. Attributes alpha
 * and beta default to 1. The CUDA kernel (scaled_swish.cu) joins when built with CUDA. */
#include <math.h>
#include <string.h>

#include "kiln/op.h"
#include "scaled_swish.h"

static int read_params(const kiln_context* ctx, float* alpha, float* beta) {
  *alpha = 1.0f;
  *beta = 1.0f;
  ctx->attr_float(ctx, "alpha", alpha);
  ctx->attr_float(ctx, "beta", beta);
  return 0;
}

static int infer(const kiln_context* ctx, const kiln_value_type* in, int32_t n_in, kiln_value_type* out,
                 int32_t n_out) {
  if (in[0].dtype != KILN_FLOAT32 && in[0].dtype != KILN_FLOAT16) {
    ctx->error(ctx, "ScaledSwish takes float32 or float16");
    return 1;
  }
  out[0] = in[0]; /* same type and shape */
  return 0;
}

/* float16 bits <-> float, round to nearest even (the host side needs no half type). */
static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
  if (exp == 0 && man == 0) bits = sign;
  else if (exp == 0) { /* subnormal: normalize */
    exp = 127 - 15 + 1;
    while (!(man & 0x400u)) { man <<= 1; --exp; }
    bits = sign | (exp << 23) | ((man & 0x3ffu) << 13);
  } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
  else bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static uint16_t float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
  uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return sign | (abs > 0x7f800000u ? 0x7e00u : 0x7c00u); /* nan, inf */
  if (abs >= 0x477ff000u) return sign | 0x7c00u;                                   /* overflow */
  if (abs < 0x38800000u) { /* subnormal or zero: scale so the integer part is the mantissa */
    float m = fabsf(f) * 16777216.0f; /* 2^24 */
    return sign | (uint16_t)nearbyintf(m);
  }
  uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u); /* ties to even */
  return sign | (uint16_t)((rounded - 0x38000000u) >> 13);
}

static float swish(float x, float alpha, float beta) { return alpha * x / (1.0f + expf(-beta * x)); }

static int cpu(const kiln_context* ctx, const kiln_tensor* in, int32_t n_in, kiln_tensor* out, int32_t n_out,
               void* workspace) {
  float alpha, beta;
  read_params(ctx, &alpha, &beta);
  int64_t n = 1;
  for (int32_t d = 0; d < in[0].rank; ++d) n *= in[0].dims[d];
  if (in[0].dtype == KILN_FLOAT32) {
    const float* x = (const float*)in[0].data;
    float* y = (float*)out[0].data;
    for (int64_t i = 0; i < n; ++i) y[i] = swish(x[i], alpha, beta);
  } else {
    const uint16_t* x = (const uint16_t*)in[0].data;
    uint16_t* y = (uint16_t*)out[0].data;
    for (int64_t i = 0; i < n; ++i) y[i] = float_to_half(swish(half_to_float(x[i]), alpha, beta));
  }
  return 0;
}

#ifdef SCALED_SWISH_WITH_CUDA
static int cuda(const kiln_context* ctx, const kiln_tensor* in, int32_t n_in, kiln_tensor* out, int32_t n_out,
                void* workspace, void* stream) {
  float alpha, beta;
  read_params(ctx, &alpha, &beta);
  int64_t n = 1;
  for (int32_t d = 0; d < in[0].rank; ++d) n *= in[0].dims[d];
  const char* err = scaled_swish_cuda(in[0].data, out[0].data, n, in[0].dtype == KILN_FLOAT16, alpha, beta, stream);
  if (err) {
    ctx->error(ctx, err);
    return 1;
  }
  return 0;
}
#endif

KILN_PLUGIN_EXPORT int kiln_register_ops(kiln_registrar* registrar) {
  kiln_op_descriptor op;
  memset(&op, 0, sizeof op);
  op.abi_version = KILN_OP_ABI_VERSION;
  op.domain = "Example";
  op.name = "ScaledSwish";
  op.since_version = 1;
  op.min_inputs = op.max_inputs = 1;
  op.min_outputs = op.max_outputs = 1;
  op.infer = infer;
  op.cpu = cpu;
#ifdef SCALED_SWISH_WITH_CUDA
  op.cuda = cuda;
#endif
  return registrar->add_op(registrar, &op);
}
