// Shape and dtype inference over the graph, node by node, through each op's infer function.
#pragma once
#include "ir/graph.h"
#include "ops/op.h"

namespace kiln {

// Runs node's inference against the graph's current value types/constants and stores the
// results in the output values. Returns the schema used.
const OpSchema& infer_node(Graph& g, const Node& node);

// Infers every node in order (no folding).
void infer_shapes(Graph& g);

}  // namespace kiln
