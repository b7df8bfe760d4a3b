// GELU on the CPU, shared by the Gelu op and fused GEMM epilogues (FusedMatMul) so both compute
// exactly the same thing. C is the compute type (float for f32/f16/bf16, double for f64).
#pragma once
#include <cmath>

namespace kiln::ew {

// approximate = "none": 0.5 x (1 + erf(x / sqrt 2)).
template <class C> C gelu_erf(C x) {
  return C(0.5) * x * (C(1) + std::erf(x * C(0.70710678118654752440084436210485)));
}

// approximate = "tanh": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
template <class C> C gelu_tanh(C x) {
  const C k = C(0.79788456080286535587989211986876);  // sqrt(2/pi)
  return C(0.5) * x * (C(1) + std::tanh(k * (x + C(0.044715) * x * x * x)));
}

}  // namespace kiln::ew
