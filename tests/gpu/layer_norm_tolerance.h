// The tolerances of the LayerNorm GPU tests (LayerNormalization and kiln.LayerNormPatchRows)
// against the double CPU reference, by output type and whether X is fp32 with an fp16 output
// (mixed): one choice for both ops' tests.
#pragma once
#include "gpu_compare.h"

namespace kiln::gpu_test {

inline void layer_norm_tolerance(GpuCase& c, DType y, bool mixed) {
  if (!mixed && y == DType::kF16) f16_tolerance(c, 1e-2, 1e-2);
  else if (!mixed) c.atol = 2e-4, c.rtol = 1e-4;
  else if (y == DType::kF16) f16_tolerance(c);
  else c.atol = c.rtol = 1e-5;
}

}  // namespace kiln::gpu_test
