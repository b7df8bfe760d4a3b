// kiln.Int8MatMul's last step: the int32 products to float — act(float(acc) · (x_scale ·
// w_scale[n]) + bias[n]) + residual — with the reference's roundings (int8_math.h), one thread
// per output element.
#include "ops/linear/epilogue_math.cuh"
#include "ops/quantize/int8_math.h"
#include "ops/quantize/quantize_kernels.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::quant {
namespace {

template <class T>
__global__ void int8_epilogue_kernel(Int8EpilogueCall c) {
  const float sx = *c.x_scale;
  const auto* bias = static_cast<const T*>(c.bias);
  const auto* res = static_cast<const T*>(c.residual);
  auto* y = static_cast<T*>(c.y);
  const int64_t total = c.m * c.n;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / c.n, j = i - r * c.n;
    float v = dequantize_acc(c.acc[r * c.ldacc + j], sx, c.w_scale[c.per_channel ? j : 0]);
    if (bias) v = add_rn(v, cuda::load_f(bias, j));
    v = linear::activate_f(c.act, v);
    if (res) v = add_rn(v, cuda::load_f(res, i));
    cuda::store_f(y, i, v);
  }
}

}  // namespace

void launch_int8_epilogue(const Int8EpilogueCall& c, CudaStream stream) {
  if (c.m * c.n == 0) return;
  const unsigned grid = cuda::grid_for(c.m * c.n);
  if (c.y_type == DType::kF32) int8_epilogue_kernel<float><<<grid, cuda::kThreads, 0, stream>>>(c);
  else if (c.y_type == DType::kF16) int8_epilogue_kernel<__half><<<grid, cuda::kThreads, 0, stream>>>(c);
  else KILN_ASSERT(!"int8 epilogue type");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::quant
