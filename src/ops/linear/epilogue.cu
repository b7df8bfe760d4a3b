// The elementwise tail of FusedMatMul that cuBLASLt's epilogues cannot do exactly (erf GELU, an
// activation followed by a residual): one in-place pass over Y, fp32 math.
#include "ops/linear/epilogue_math.cuh"
#include "ops/linear/linear_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::linear {
namespace {

// Any shape and alignment; bias (when given) indexed by column.
template <class T>
__global__ void epilogue_kernel(EpilogueActivation act, T* __restrict__ y, const T* __restrict__ bias,
                                const T* __restrict__ res, int64_t total, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    float v = cuda::load_f(y, i);
    if (bias) v += cuda::load_f(bias, i % n);
    v = activate_f(act, v);
    if (res) v += cuda::load_f(res, i);
    cuda::store_f(y, i, v);
  }
}

// 16 bytes per thread and step, no bias (the GEMM added it): the common path.
template <class T>
__global__ void epilogue_vec_kernel(EpilogueActivation act, T* __restrict__ y, const T* __restrict__ res,
                                    int64_t vectors) {
  using V = cuda::Vec16<T>;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < vectors; i += int64_t(gridDim.x) * blockDim.x) {
    V yv = reinterpret_cast<const V*>(y)[i];
    V rv{};
    if (res) rv = reinterpret_cast<const V*>(res)[i];
#pragma unroll
    for (int k = 0; k < V::kCount; ++k) {
      float v = activate_f(act, cuda::load_f(yv.v, k));
      if (res) v += cuda::load_f(rv.v, k);
      cuda::store_f(yv.v, k, v);
    }
    reinterpret_cast<V*>(y)[i] = yv;
  }
}

template <class T>
void launch_typed(EpilogueActivation act, void* y, const void* bias, const void* res, int64_t total, int64_t n,
                  CudaStream stream) {
  constexpr int kN = cuda::Vec16<T>::kCount;
  auto py = static_cast<T*>(y);
  auto pb = static_cast<const T*>(bias);
  auto pr = static_cast<const T*>(res);
  if (!bias && total % kN == 0 && cuda::aligned16(y) && (!res || cuda::aligned16(res)))
    epilogue_vec_kernel<<<cuda::grid_for(total / kN), cuda::kThreads, 0, stream>>>(act, py, pr, total / kN);
  else
    epilogue_kernel<<<cuda::grid_for(total), cuda::kThreads, 0, stream>>>(act, py, pb, pr, total, n);
}

}  // namespace

void launch_epilogue(EpilogueActivation act, DType dtype, void* y, const void* bias, const void* residual,
                     int64_t rows, int64_t n, CudaStream stream) {
  const int64_t total = rows * n;
  if (total == 0) return;
  if (dtype == DType::kF32)
    launch_typed<float>(act, y, bias, residual, total, n, stream);
  else if (dtype == DType::kF16)
    launch_typed<__half>(act, y, bias, residual, total, n, stream);
  else
    KILN_ASSERT(!"epilogue dtype");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::linear
