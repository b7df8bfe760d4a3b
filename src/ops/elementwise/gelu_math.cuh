// GELU on the GPU in fp32, shared by the Gelu kernel (unary.cu) and the FusedMatMul epilogue
// kernel (linear/epilogue.cu). Same formulas as the CPU reference (gelu_math.h).
#pragma once

namespace kiln::ew {

__device__ __forceinline__ float gelu_erf(float x) { return 0.5f * x * (1.f + erff(x * 0.70710678118654752f)); }

__device__ __forceinline__ float gelu_tanh(float x) {
  const float k = 0.79788456080286536f;  // sqrt(2/pi)
  return 0.5f * x * (1.f + tanhf(k * (x + 0.044715f * x * x * x)));
}

}  // namespace kiln::ew
