// Activation memory planned by liveness: every tensor a run writes (graph inputs, node outputs,
// per-node scratch) is a block with a size and the span of node indices during which it must
// hold its bytes; blocks whose spans overlap never share bytes, the rest may. Offsets are
// assigned greedily, largest block first, each at the lowest offset that fits between the
// blocks already placed that are alive at the same time (a best-known simple heuristic for
// this NP-hard packing; its result is checked, not trusted: see arena_plan.cpp).
#pragma once
#include <cstddef>
#include <vector>

namespace kiln {

struct ArenaBlock {
  size_t bytes = 0;
  int first = 0;  // index of the node that writes it (0 for graph inputs)
  int last = 0;   // index of the last node that reads it (node count for graph outputs)
};

struct ArenaLayout {
  std::vector<size_t> offsets;  // one per block, multiples of `alignment`
  size_t total = 0;             // the arena's size
};

ArenaLayout plan_arena(const std::vector<ArenaBlock>& blocks, size_t alignment = 256);

}  // namespace kiln
