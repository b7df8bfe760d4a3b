// io/mask2former_post.h's bilinear blend on the device: the same taps, the same operations in
// the same order, each rounded to nearest (no contraction into FMAs), so values match the CPU's.
#pragma once
#include "runtime/cuda/kernel_util.cuh"
#include "runtime/cuda/post/mask2former_maps.h"

namespace kiln::post {

template <class T>
__device__ __forceinline__ float blend(const T* __restrict__ plane, int w, const DeviceTaps& ty,
                                       const DeviceTaps& tx, int y, int x) {
  const T* r0 = plane + int64_t(ty.i0[y]) * w;
  const T* r1 = plane + int64_t(ty.i1[y]) * w;
  const int a = tx.i0[x], b = tx.i1[x];
  const float wa = tx.l0[x], wb = tx.l1[x];
  const float top = __fadd_rn(__fmul_rn(wa, cuda::load_f(r0, a)), __fmul_rn(wb, cuda::load_f(r0, b)));
  const float bottom = __fadd_rn(__fmul_rn(wa, cuda::load_f(r1, a)), __fmul_rn(wb, cuda::load_f(r1, b)));
  return __fadd_rn(__fmul_rn(ty.l0[y], top), __fmul_rn(ty.l1[y], bottom));
}

}  // namespace kiln::post
