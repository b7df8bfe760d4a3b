// kiln.Int8Conv's last step: y [n, o, p] (NCHW) = act(float(acc) · (x_scale · w_scale[o]) + B[o]
// + Z) from acc [n, op, pp], the reference's roundings (int8_math.h). A thread takes 4 adjacent
// pixels of one channel: one 16-byte load of acc (its rows are pp ≡ 0 mod 4 wide), vector Z
// loads and Y stores where p and the pointers allow.
#include "ops/linear/epilogue_math.cuh"
#include "ops/quantize/int8_math.h"
#include "ops/quantize/quantize_kernels.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::quant {
namespace {

constexpr int kPix = 4;

template <class T> struct alignas(kPix * sizeof(T)) Quad {
  T v[kPix];
};

template <class T>
__global__ void conv_epilogue_kernel(Int8ConvEpilogueCall c, int64_t groups, bool vec) {
  const float sx = *c.x_scale;
  const auto* bias = static_cast<const T*>(c.bias);
  const auto* z = static_cast<const T*>(c.z);
  auto* y = static_cast<T*>(c.y);
  const int64_t total = c.n * c.o * groups;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = t / groups, p0 = (t - row * groups) * kPix;  // row = n·o + channel
    const int64_t img = row / c.o, ch = row - img * c.o;
    const float scale_w = c.w_scale[c.per_channel ? ch : 0];
    const float b = bias ? cuda::load_f(bias, ch) : 0.f;
    const int4 a = *reinterpret_cast<const int4*>(c.acc + (img * c.op + ch) * c.pp + p0);
    const int32_t acc[kPix] = {a.x, a.y, a.z, a.w};
    const int64_t at = row * c.p + p0;
    const bool full = vec && p0 + kPix <= c.p;
    float zv[kPix] = {0.f, 0.f, 0.f, 0.f};
    if (z && full) {
      const Quad<T> q = *reinterpret_cast<const Quad<T>*>(z + at);
#pragma unroll
      for (int e = 0; e < kPix; ++e) zv[e] = cuda::load_f(q.v, e);
    } else if (z) {
#pragma unroll
      for (int e = 0; e < kPix; ++e)
        if (p0 + e < c.p) zv[e] = cuda::load_f(z, at + e);
    }
    Quad<T> out;
#pragma unroll
    for (int e = 0; e < kPix; ++e) {
      float v = dequantize_acc(acc[e], sx, scale_w);
      if (bias) v = add_rn(v, b);
      if (z) v = add_rn(v, zv[e]);
      cuda::store_f(out.v, e, linear::activate_f(c.act, v));
    }
    if (full) {
      *reinterpret_cast<Quad<T>*>(y + at) = out;
    } else {
#pragma unroll
      for (int e = 0; e < kPix; ++e)
        if (p0 + e < c.p) y[at + e] = out.v[e];
    }
  }
}

}  // namespace

void launch_int8_conv_epilogue(const Int8ConvEpilogueCall& c, CudaStream stream) {
  KILN_ASSERT(c.pp % kPix == 0 && cuda::aligned16(c.acc));
  const int64_t groups = (c.p + kPix - 1) / kPix, total = c.n * c.o * groups;
  if (total == 0) return;
  const size_t quad = kPix * dtype_size(c.y_type);
  auto aligned = [&](const void* p) { return !p || reinterpret_cast<uintptr_t>(p) % quad == 0; };
  const bool vec = c.p % kPix == 0 && aligned(c.y) && aligned(c.z);
  const unsigned grid = cuda::grid_for(total);
  if (c.y_type == DType::kF32) conv_epilogue_kernel<float><<<grid, cuda::kThreads, 0, stream>>>(c, groups, vec);
  else if (c.y_type == DType::kF16) conv_epilogue_kernel<__half><<<grid, cuda::kThreads, 0, stream>>>(c, groups, vec);
  else KILN_ASSERT(!"int8 conv epilogue type");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::quant
