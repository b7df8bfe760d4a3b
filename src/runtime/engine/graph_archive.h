// The optimized Graph as engine-file bytes: values (dtype, shape with symbolic dims,
// constants), nodes (op, domain, opset, inputs, outputs, attributes of every kind), graph
// inputs/outputs, opsets and the source op histogram. One function template per structure
// writes and reads it (graph_archive.cpp), so the two directions cannot drift apart.
#pragma once
#include <string>

#include "ir/graph.h"
#include "runtime/engine/byte_archive.h"

namespace kiln {

void write_graph(ByteWriter& w, const Graph& g);
// Refuses malformed bytes (kInvalidArgument naming reader.what()) and ops this kiln does not
// know (kUnsupported), and checks every name a node or the graph refers to exists.
Graph read_graph(ByteReader& r);

}  // namespace kiln
