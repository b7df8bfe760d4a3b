// The fixed, listed order in which passes run after import.
#pragma once
#include <map>
#include <string>

#include "ir/graph.h"
#include "passes/fold_constants.h"

namespace kiln {

struct PassReport {
  FoldStats fold;
  std::map<std::string, int> fused;  // rewrite pass → how many times it fired
  int nodes_before = 0;
  int nodes_after = 0;
};

// 1. fold_constants (with shape inference)  2. eliminate_noops  3. fusions (fuse_attention,
// fuse_token_dwconv, ...)  4. remove_dead_nodes
PassReport run_passes(Graph& g);

}  // namespace kiln
