// 2^t through the GPU's MUFU.EX2 (ex2.approx.ftz: one instruction, relative error ~2^-22, far
// under fp16's 2^-11), std::exp2 on the host: the exponential of the softmax and GELU kernels
// that are bound by instruction count. Host and device, so CPU tests can use the same formulas.
#pragma once
#include <cmath>

#if defined(__CUDACC__)
#define KILN_EXP2_HD __host__ __device__ __forceinline__
#else
#define KILN_EXP2_HD inline
#endif

namespace kiln::cuda {

KILN_EXP2_HD float exp2_approx(float t) {
#if defined(__CUDA_ARCH__)
  float r;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(t));
  return r;
#else
  return std::exp2(t);
#endif
}

}  // namespace kiln::cuda

#undef KILN_EXP2_HD
