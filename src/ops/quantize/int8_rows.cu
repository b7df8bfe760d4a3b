// kiln.Int8MatMul's first step: X quantized to int8 rows padded to kp columns (zeros beyond K),
// the layout the int8 GEMM reads. A thread writes 16 bytes (one 16-byte store) of one row from
// 16 elements of X — 16-byte loads where the row is aligned for them, else element loads —;
// its (row, 16-byte column) comes from a 32-bit division where the count fits.
#include "ops/quantize/int8_math.h"
#include "ops/quantize/quantize_kernels.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::quant {
namespace {

constexpr int kBytes = 16;

template <class T>
__global__ void quantize_rows_kernel(const T* __restrict__ x, const float* __restrict__ x_scale,
                                     uint4* __restrict__ xq, int64_t m, int64_t k, int64_t kp, bool vec,
                                     bool index32) {
  constexpr int kV = cuda::kVec16<T>;  // elements per 16-byte load
  const float s = *x_scale;
  const int64_t per_row = kp / kBytes, total = m * per_row;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t r;
    if (index32) r = int64_t(uint32_t(i) / uint32_t(per_row));
    else r = i / per_row;
    const int64_t col = (i - r * per_row) * kBytes;
    const T* xr = x + r * k + col;
    float f[kBytes];
    if (vec && col + kBytes <= k) {
#pragma unroll
      for (int v = 0; v < kBytes / kV; ++v) {
        float part[kV];
        cuda::load_vec<T, kV>(xr + v * kV, part);
#pragma unroll
        for (int j = 0; j < kV; ++j) f[v * kV + j] = part[j];
      }
    } else {
#pragma unroll
      for (int j = 0; j < kBytes; ++j) f[j] = col + j < k ? cuda::load_f(xr, j) : 0.f;
    }
    alignas(16) int8_t q[kBytes];
#pragma unroll
    for (int j = 0; j < kBytes; ++j) q[j] = col + j < k ? quantize_int8(f[j], s) : int8_t(0);
    xq[i] = *reinterpret_cast<const uint4*>(q);
  }
}

}  // namespace

void launch_quantize_rows(DType x_type, const void* x, const float* x_scale, int8_t* xq, int64_t m, int64_t k,
                          int64_t kp, CudaStream stream) {
  KILN_ASSERT(kp % kBytes == 0 && kp >= k && cuda::aligned16(xq));
  if (m == 0) return;
  const int64_t total = m * (kp / kBytes);
  const unsigned grid = cuda::grid_for(total);
  const bool index32 = total < (int64_t(1) << 32);
  auto* out = reinterpret_cast<uint4*>(xq);
  const int64_t elem = int64_t(dtype_size(x_type));
  const bool vec = cuda::aligned16(x) && (k * elem) % 16 == 0;  // every row starts 16-byte aligned
  if (x_type == DType::kF32)
    quantize_rows_kernel<<<grid, cuda::kThreads, 0, stream>>>(static_cast<const float*>(x), x_scale, out, m, k, kp, vec,
                                                              index32);
  else if (x_type == DType::kF16)
    quantize_rows_kernel<<<grid, cuda::kThreads, 0, stream>>>(static_cast<const __half*>(x), x_scale, out, m, k, kp, vec,
                                                              index32);
  else
    KILN_ASSERT(!"quantize_rows x type");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::quant
