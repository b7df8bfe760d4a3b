// The fused activations on the GPU in fp32 (FusedMatMul's epilogue kernel, DepthwiseConvNHWC),
// the same formulas as the CPU references' `activate` (epilogue.h).
#pragma once
#include "ops/elementwise/gelu_math.cuh"
#include "ops/linear/epilogue.h"

namespace kiln::linear {

__device__ __forceinline__ float activate_f(EpilogueActivation act, float v) {
  switch (act) {
    case EpilogueActivation::kRelu: return v > 0.f ? v : (v == v ? 0.f : v);  // NaN stays NaN
    case EpilogueActivation::kGelu: return ew::gelu_erf(v);
    case EpilogueActivation::kGeluTanh: return ew::gelu_tanh(v);
    case EpilogueActivation::kNone: break;
  }
  return v;
}

}  // namespace kiln::linear
