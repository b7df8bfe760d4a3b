// What a fused GEMM epilogue applies after the bias: FusedMatMul's `activation` attribute.
// Plain data, so the CUDA epilogue kernel (epilogue.cu) includes it too.
// Also DepthwiseConvNHWC's `activation` (the conv writes the GELU of SegFormer's MixFFN).
#pragma once
#include "ops/elementwise/gelu_math.h"

namespace kiln::linear {

enum class EpilogueActivation { kNone, kRelu, kGelu, kGeluTanh };  // gelu: erf; gelu_tanh: tanh form

// The CPU references' activation in compute type C (float, or double for f64).
template <class C> C activate(C v, EpilogueActivation act) {
  switch (act) {
    case EpilogueActivation::kRelu: return v < C(0) ? C(0) : v;  // NaN stays NaN, like Relu
    case EpilogueActivation::kGelu: return ew::gelu_erf(v);
    case EpilogueActivation::kGeluTanh: return ew::gelu_tanh(v);
    case EpilogueActivation::kNone: break;
  }
  return v;
}

}  // namespace kiln::linear
