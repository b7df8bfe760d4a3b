// PatchEmbedTokens on CUDA cores: fp32 engines (fp32 W) and whatever the tensor-core kernel does
// not take (more than 128 output channels, windows too large to stage). A thread computes one
// token's 16 consecutive output channels in fp32, reading X through L1 and W with warp-uniform
// addresses (one broadcast per warp away from the image border), and rounds once at the store.
#include <cuda_fp16.h>

#include <cstdint>

#include "kiln/status.h"
#include "ops/conv/patch_embed_tokens_launch.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::conv {
namespace {

constexpr int kThreads = 256;
constexpr int kGroup = 16;  // output channels per thread

// X's value as the compute type TW sees it: float32 X under fp16 W is rounded to fp16 first.
template <class TX, class TW> __device__ __forceinline__ float operand(const TX* x, int64_t i) {
  const float v = cuda::load_f(x, i);
  if constexpr (std::is_same_v<TW, __half> && std::is_same_v<TX, float>) return __half2float(__float2half_rn(v));
  else return v;
}

template <class TX, class TW, class TY> __global__ void __launch_bounds__(kThreads) patch_embed_direct(PatchEmbedParams p) {
  const TX* __restrict__ x = static_cast<const TX*>(p.x);
  const TW* __restrict__ w = static_cast<const TW*>(p.w);
  TY* __restrict__ y = static_cast<TY*>(p.y);
  const int C = p.channels, Co = p.out_channels, co0 = int(blockIdx.y) * kGroup;
  const int64_t hw = int64_t(p.out_h) * p.out_w, pixels = int64_t(p.batch) * hw;
  for (int64_t pix = int64_t(blockIdx.x) * kThreads + threadIdx.x; pix < pixels; pix += int64_t(gridDim.x) * kThreads) {
    const int64_t b = pix / hw;
    const int rest = int(pix - b * hw), oy = rest / p.out_w, ox = rest - oy * p.out_w;
    float acc[kGroup];
#pragma unroll
    for (int o = 0; o < kGroup; ++o) {
      float v = 0.0f;
      if (p.bias && co0 + o < Co)
        v = p.bias_size == 4 ? static_cast<const float*>(p.bias)[co0 + o]
                             : __half2float(static_cast<const __half*>(p.bias)[co0 + o]);
      acc[o] = v;
    }
    for (int i = 0; i < p.k_h; ++i) {
      const int ih = oy * p.s_h - p.p_h + i * p.d_h;
      if (ih < 0 || ih >= p.in_h) continue;
      for (int j = 0; j < p.k_w; ++j) {
        const int iw = ox * p.s_w - p.p_w + j * p.d_w;
        if (iw < 0 || iw >= p.in_w) continue;
        for (int c = 0; c < C; ++c) {
          const float xv = operand<TX, TW>(x, ((b * C + c) * p.in_h + ih) * int64_t(p.in_w) + iw);
          const TW* wr = w + (int64_t(i * p.k_w + j) * C + c) * Co + co0;
#pragma unroll
          for (int o = 0; o < kGroup; ++o)
            if (co0 + o < Co) acc[o] = fmaf(xv, cuda::load_f(wr, o), acc[o]);
        }
      }
    }
    TY* dst = y + pix * Co + co0;
#pragma unroll
    for (int o = 0; o < kGroup; ++o)
      if (co0 + o < Co) cuda::store_f(dst, o, acc[o]);
  }
}

template <class TX, class TW, class TY> void launch(const PatchEmbedParams& p, CudaStream stream) {
  const int64_t pixels = int64_t(p.batch) * p.out_h * p.out_w;
  int64_t blocks = (pixels + kThreads - 1) / kThreads;
  if (blocks > 65535 * 8) blocks = 65535 * 8;
  const dim3 grid(unsigned(blocks), unsigned((p.out_channels + kGroup - 1) / kGroup));
  patch_embed_direct<TX, TW, TY><<<grid, kThreads, 0, stream>>>(p);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_patch_embed_direct(const PatchEmbedParams& p, CudaStream stream) {
  if (p.batch == 0 || p.out_h == 0 || p.out_w == 0 || p.out_channels == 0) return;
  KILN_ASSERT((p.out_channels + kGroup - 1) / kGroup <= 65535);
  const bool x32 = p.x_size == 4, y32 = p.y_size == 4;
  if (p.w_size == 4) {
    KILN_ASSERT(x32 && y32);
    launch<float, float, float>(p, stream);
  } else if (x32) {
    if (y32) launch<float, __half, float>(p, stream);
    else launch<float, __half, __half>(p, stream);
  } else {
    if (y32) launch<__half, __half, float>(p, stream);
    else launch<__half, __half, __half>(p, stream);
  }
}

}  // namespace kiln::conv
