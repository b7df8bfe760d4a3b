// Constant folding, interleaved with shape inference so that folded values sharpen the
// shapes downstream: Shape/Size of known shapes become constants, and then every node whose
// inputs are all constant is evaluated once with its CPU kernel and removed. With concrete
// input shapes this collapses exported shape arithmetic (Shape→Gather→Unsqueeze→Concat→
// Reshape chains) into plain constants.
#pragma once
#include "ir/graph.h"

namespace kiln {

struct FoldStats {
  int folded_nodes = 0;
};

// `keep` (when given) names nodes left unfolded even with constant inputs: the pipeline keeps
// the DequantizeLinear of int8 weights until the int8 fusions have taken them.
FoldStats fold_constants(Graph& g, bool (*keep)(const Graph&, const Node&) = nullptr);

}  // namespace kiln
