// The fixed, listed order in which passes run after import.
#pragma once
#include <map>
#include <string>

#include "ir/graph.h"
#include "passes/fold_constants.h"

namespace kiln {

struct PassReport {
  FoldStats fold;
  std::map<std::string, int> fused;  // fusion pass name → how many matches it rewrote
  int nodes_before = 0;
  int nodes_after = 0;
};

// 1. fold_constants (with shape inference)  2. fusions (fuse_attention)  3. remove_dead_nodes
PassReport run_passes(Graph& g);

}  // namespace kiln
