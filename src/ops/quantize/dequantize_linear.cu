// DequantizeLinear on the GPU: (x − zero) · scale in double, rounded once to float32 and, for a
// float16 scale, from there to float16 — the CPU reference's roundings (Tensor::from_doubles).
#include <cuda_fp16.h>

#include "ops/quantize/quantize_kernels.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::quant {
namespace {

template <class X, class S>
__global__ void dequantize_kernel(const X* __restrict__ x, S* __restrict__ y, const S* __restrict__ scale,
                                  const X* __restrict__ zero, int64_t n, int64_t inner, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = count == 1 ? 0 : (i / inner) % count;
    const double z = zero ? double(zero[c]) : 0.0;
    const float v = __double2float_rn((double(x[i]) - z) * double(cuda::load_f(scale, c)));
    cuda::store_f(y, i, v);
  }
}

template <class X>
void launch_x(const QdqCall& c, CudaStream stream) {
  const auto* x = static_cast<const X*>(c.x);
  const auto* z = static_cast<const X*>(c.zero);
  const unsigned grid = cuda::grid_for(c.n);
  if (c.scale_type == DType::kF32)
    dequantize_kernel<<<grid, cuda::kThreads, 0, stream>>>(x, static_cast<float*>(c.y),
                                                            static_cast<const float*>(c.scale), z, c.n, c.inner,
                                                            c.count);
  else
    dequantize_kernel<<<grid, cuda::kThreads, 0, stream>>>(x, static_cast<__half*>(c.y),
                                                            static_cast<const __half*>(c.scale), z, c.n, c.inner,
                                                            c.count);
}

}  // namespace

void launch_dequantize_linear(const QdqCall& c, CudaStream stream) {
  if (c.n == 0) return;
  if (c.x_type == DType::kI8) launch_x<int8_t>(c, stream);
  else if (c.x_type == DType::kU8) launch_x<uint8_t>(c, stream);
  else if (c.x_type == DType::kI32) launch_x<int32_t>(c, stream);
  else KILN_ASSERT(!"dequantize x type");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::quant
