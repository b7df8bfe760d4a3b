// The fp16 engine mode's graph rewrite (issue 3: fp16 storage, fp32 accumulation). The CUDA
// kernels already widen fp16 to fp32 for their math (GEMM/conv accumulation, LayerNorm, Softmax
// and reduction statistics), so the graph only changes the element type values are stored in:
//
//   x:f32 ─Cast(f16)─▶ x/fp16 ─▶ Conv(W:f16) ─▶ ... ─▶ Softmax ─▶ y/fp16 ─Cast(f32)─▶ y:f32
//
// The graph's inputs and outputs keep their names and float32 type. Inputs where fp16 would
// change what an op does stay float32: parameters rather than data (Resize roi/scales, Range,
// ...) and decisions (comparisons, casts to integers), with the cheap ops that compute only them.
// Where fp16 storage costs accuracy without fp32 math paying for it, values stay float32 but the
// nodes writing them keep fp16 operands: the islands of precision_islands.h (residual streams,
// the conv that starts one, model outputs).
#pragma once
#include <map>
#include <string>

#include "ir/graph.h"

namespace kiln {

struct PrecisionReport {
  int values_converted = 0;     // node outputs now float16 (graph outputs: behind the final Cast)
  int constants_converted = 0;  // float32 constants now float16 (a copy where fp32 is also read)
  int casts_inserted = 0;
  int values_kept_fp32 = 0;              // the sum of kept_fp32
  std::map<std::string, int> kept_fp32;  // reason → number of float32 values that stayed float32
  int64_t elements_clamped = 0;  // constant elements beyond ±65504, set to ±65504
  int64_t elements_kept_nonzero = 0;  // nonzero constant elements that would round to 0
};

// Rewrites an optimized, shape-inferred graph (after run_passes) for float16 storage. Graphs
// without float32 values come back unchanged. Throws kInternal if the rewrite leaves a node whose
// schema rejects its input types (a kiln bug, never the model's).
PrecisionReport convert_to_fp16(Graph& g);

// One line for the CLI: "412 values and 96 constants to float16, 3 casts, 2 kept float32 (...)".
std::string describe(const PrecisionReport& r);

}  // namespace kiln
