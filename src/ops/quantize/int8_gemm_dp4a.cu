// The int8 GEMM of last resort: acc = xq · wtᵀ with exact int32 sums by __dp4a (4 int8
// products per instruction) on CUDA cores, for problems no cuBLASLt int8 kernel takes. A block
// computes a 16 × 16 tile of acc, stepping K 16 bytes (4 words) at a time through shared memory.
#include "ops/quantize/quantize_kernels.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::quant {
namespace {

constexpr int kTile = 16, kWords = 4;

__global__ void int8_gemm_dp4a_kernel(const int* __restrict__ xq, const int* __restrict__ wt, int32_t* __restrict__ acc,
                                      int64_t m, int64_t np, int64_t kw, int64_t sx, int64_t sw, int64_t sa) {
  __shared__ int xs[kTile][kWords], ws[kTile][kWords];
  xq += blockIdx.z * sx, wt += blockIdx.z * sw, acc += blockIdx.z * sa;
  const int tx = threadIdx.x, ty = threadIdx.y, t = ty * kTile + tx;
  const int64_t row = blockIdx.x * int64_t(kTile) + ty, col = blockIdx.y * int64_t(kTile) + tx;
  int sum = 0;
  for (int64_t w0 = 0; w0 < kw; w0 += kWords) {
    // Threads 0..63 stage X's 16 rows, 64..127 W's; out-of-range rows read as zeros.
    if (t < kTile * kWords) {
      const int r = t / kWords, w = t % kWords;
      const int64_t gr = blockIdx.x * int64_t(kTile) + r;
      xs[r][w] = gr < m ? xq[gr * kw + w0 + w] : 0;
    } else if (t < 2 * kTile * kWords) {
      const int r = (t - kTile * kWords) / kWords, w = t % kWords;
      const int64_t gc = blockIdx.y * int64_t(kTile) + r;
      ws[r][w] = gc < np ? wt[gc * kw + w0 + w] : 0;
    }
    __syncthreads();
#pragma unroll
    for (int w = 0; w < kWords; ++w) sum = __dp4a(xs[ty][w], ws[tx][w], sum);
    __syncthreads();
  }
  if (row < m && col < np) acc[row * np + col] = sum;
}

}  // namespace

void launch_int8_gemm_dp4a(const int8_t* xq, const int8_t* wt, int32_t* acc, int64_t m, int64_t np, int64_t kp,
                           CudaStream stream, int64_t batch, int64_t stride_x, int64_t stride_w, int64_t stride_acc) {
  KILN_ASSERT(kp % (4 * kWords) == 0 && (np + kTile - 1) / kTile <= 65535 && batch >= 1 && batch <= 65535);
  KILN_ASSERT(stride_x % 4 == 0 && stride_w % 4 == 0);
  if (m == 0 || np == 0) return;
  // Rows on x: up to 2^31 tiles.
  const dim3 grid(unsigned((m + kTile - 1) / kTile), unsigned((np + kTile - 1) / kTile), unsigned(batch));
  int8_gemm_dp4a_kernel<<<grid, dim3(kTile, kTile), 0, stream>>>(reinterpret_cast<const int*>(xq),
                                                                  reinterpret_cast<const int*>(wt), acc, m, np,
                                                                  kp / 4, stride_x / 4, stride_w / 4, stride_acc);
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::quant
