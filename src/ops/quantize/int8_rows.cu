// kiln.Int8MatMul's first step: X quantized to int8 rows padded to kp columns (zeros beyond K),
// the layout the int8 GEMM reads. One thread writes 4 bytes (one 32-bit store).
#include "ops/quantize/int8_math.h"
#include "ops/quantize/quantize_kernels.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::quant {
namespace {

template <class T>
__global__ void quantize_rows_kernel(const T* __restrict__ x, const float* __restrict__ x_scale,
                                     char4* __restrict__ xq, int64_t m, int64_t k, int64_t kp) {
  const float s = *x_scale;
  const int64_t words = kp / 4, total = m * words;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = i / words, col = (i - row * words) * 4;
    const T* xr = x + row * k;
    int8_t q[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) q[j] = col + j < k ? quantize_int8(cuda::load_f(xr, col + j), s) : int8_t(0);
    xq[i] = make_char4(q[0], q[1], q[2], q[3]);
  }
}

}  // namespace

void launch_quantize_rows(DType x_type, const void* x, const float* x_scale, int8_t* xq, int64_t m, int64_t k,
                          int64_t kp, CudaStream stream) {
  KILN_ASSERT(kp % 4 == 0 && kp >= k);
  if (m == 0) return;
  const unsigned grid = cuda::grid_for(m * kp / 4);
  auto* out = reinterpret_cast<char4*>(xq);
  if (x_type == DType::kF32)
    quantize_rows_kernel<<<grid, cuda::kThreads, 0, stream>>>(static_cast<const float*>(x), x_scale, out, m, k, kp);
  else if (x_type == DType::kF16)
    quantize_rows_kernel<<<grid, cuda::kThreads, 0, stream>>>(static_cast<const __half*>(x), x_scale, out, m, k, kp);
  else
    KILN_ASSERT(!"quantize_rows x type");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::quant
