// Pointwise (domain "kiln"): a chain of elementwise ops in one node. Inputs broadcast (numpy
// rules) to one output shape; each output is one result of the node's program
// (pointwise_program.h), evaluated element by element. passes/fuse_elementwise puts it in place
// of the connected elementwise nodes it replaces; the CUDA kernel is generated from the program
// and compiled with NVRTC (pointwise_cuda.cpp).
//
//   inputs   1..16, float32 / float16 / bool, broadcastable to one shape
//   outputs  1..8, that shape, each its result's type
//
// Numerics: float values are held in float32 between instructions — each result is the exact
// (double) operation rounded to float32, which is what the unfused float32 ops compute and what
// the generated kernel computes (no FMA contraction) up to the GPU's math-library ulps in
// exp/log/erf/tanh/sin/cos/pow. A float16 intermediate is NOT rounded to float16 where the
// unfused fp16 graph rounded it: only an explicit Cast to float16 rounds there, and outputs
// round once to their type. A fused fp16 chain is therefore at least as accurate as the
// unfused one and differs from it by up to about one fp16 ulp per rounding it skips.
#pragma once
#include "ops/op.h"

namespace kiln {
class OpRegistry;
}

namespace kiln::ew {

void register_pointwise_op(OpRegistry& r);

}  // namespace kiln::ew
