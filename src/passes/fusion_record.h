// What each rewrite pass changed, for `kiln inspect --fusions`: the nodes a rewrite replaced and
// the nodes it put in their place, found by comparing the graph before and after the pass (so
// every pass is covered without reporting anything itself).
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln {

struct NodeRef {
  std::string op;  // "Conv", "kiln.Attention"
  std::string name;
  bool operator==(const NodeRef&) const = default;
};

struct FusionRecord {
  std::string pass;
  std::vector<NodeRef> replaced;  // nodes gone (or rewired: then they are in `added` too)
  std::vector<NodeRef> added;     // nodes new (or rewired)
};

// A node as the comparison sees it: its name, op, inputs and outputs.
struct NodeSignature {
  NodeRef ref;
  std::vector<std::string> inputs, outputs;
  bool operator==(const NodeSignature&) const = default;
};

std::vector<NodeSignature> node_signatures(const Graph& g);

// The rewrites `pass` made between `before` and `after`, one record per connected change: nodes
// joined by a tensor that a replaced node writes and another replaced node reads, by a tensor
// that a replaced and an added node both write, by a tensor one added node writes and another
// reads, or by being the same node rewired. Unchanged nodes are not listed.
std::vector<FusionRecord> diff_rewrites(const std::string& pass, const std::vector<NodeSignature>& before,
                                        const std::vector<NodeSignature>& after);

}  // namespace kiln
