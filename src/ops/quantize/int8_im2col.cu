// kiln.Int8Conv's first step: every output pixel's input window quantized to int8 and laid out
// as one GEMM row — cols [n, pp, kp], columns in W's (c, i, j) order — so the convolution is an
// int8 GEMM against W [o, c·kh·kw]. A thread writes 16 bytes of one row, walking its columns'
// (c, i, j) incrementally from one division; padding, columns ≥ K and rows ≥ oh·ow are zero.
#include "ops/quantize/int8_math.h"
#include "ops/quantize/quantize_kernels.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::quant {
namespace {

constexpr int kBytes = 16;

template <class T>
__global__ void im2col_kernel(const T* __restrict__ x, const float* __restrict__ x_scale, uint4* __restrict__ cols,
                              int64_t n, Int8ConvGeom g, int64_t pp, int64_t kp) {
  const float s = *x_scale;
  const int64_t chunks = kp / kBytes, per_image = pp * chunks, total = n * per_image;
  const int64_t k_total = g.c * g.kh * g.kw, pixels = g.oh * g.ow, window = g.kh * g.kw;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t img = t / per_image, rest = t - img * per_image;
    const int64_t p = rest / chunks, k0 = (rest - p * chunks) * kBytes;
    alignas(16) int8_t q[kBytes];
    if (p >= pixels) {
#pragma unroll
      for (int e = 0; e < kBytes; ++e) q[e] = 0;
    } else {
      const int64_t oy = p / g.ow, ox = p - oy * g.ow;
      const int64_t y0 = oy * g.sh - g.ph, x0 = ox * g.sw - g.pw;
      int64_t c = k0 / window, r = k0 - c * window;
      int64_t i = r / g.kw, j = r - i * g.kw;
      const T* xn = x + img * g.c * g.h * g.w;
#pragma unroll
      for (int e = 0; e < kBytes; ++e) {
        int8_t v = 0;
        if (k0 + e < k_total) {
          const int64_t iy = y0 + i * g.dh, ix = x0 + j * g.dw;
          if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) v = quantize_int8(cuda::load_f(xn, (c * g.h + iy) * g.w + ix), s);
          if (++j == g.kw) {
            j = 0;
            if (++i == g.kh) i = 0, ++c;
          }
        }
        q[e] = v;
      }
    }
    cols[t] = *reinterpret_cast<const uint4*>(q);
  }
}

}  // namespace

void launch_int8_im2col(DType x_type, const void* x, const float* x_scale, int8_t* cols, int64_t n,
                        const Int8ConvGeom& g, int64_t pp, int64_t kp, CudaStream stream) {
  KILN_ASSERT(kp % kBytes == 0 && cuda::aligned16(cols));
  const int64_t total = n * pp * (kp / kBytes);
  if (total == 0) return;
  auto* out = reinterpret_cast<uint4*>(cols);
  const unsigned grid = cuda::grid_for(total);
  if (x_type == DType::kF32)
    im2col_kernel<<<grid, cuda::kThreads, 0, stream>>>(static_cast<const float*>(x), x_scale, out, n, g, pp, kp);
  else if (x_type == DType::kF16)
    im2col_kernel<<<grid, cuda::kThreads, 0, stream>>>(static_cast<const __half*>(x), x_scale, out, n, g, pp, kp);
  else
    KILN_ASSERT(!"im2col x type");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::quant
