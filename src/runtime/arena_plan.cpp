#include "runtime/arena_plan.h"

#include <algorithm>
#include <numeric>

#include "kiln/status.h"

namespace kiln {
namespace {

bool overlap_in_time(const ArenaBlock& a, const ArenaBlock& b) { return a.first <= b.last && b.first <= a.last; }

size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

}  // namespace

ArenaLayout plan_arena(const std::vector<ArenaBlock>& blocks, size_t alignment) {
  const size_t n = blocks.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (blocks[a].bytes != blocks[b].bytes) return blocks[a].bytes > blocks[b].bytes;
    return blocks[a].first < blocks[b].first;
  });
  ArenaLayout layout;
  layout.offsets.assign(n, 0);
  std::vector<size_t> placed;
  for (size_t i : order) {
    const size_t bytes = round_up(blocks[i].bytes, alignment);
    // Busy ranges of placed blocks alive at the same time, by offset.
    std::vector<std::pair<size_t, size_t>> busy;
    for (size_t j : placed)
      if (overlap_in_time(blocks[i], blocks[j]))
        busy.push_back({layout.offsets[j], layout.offsets[j] + round_up(blocks[j].bytes, alignment)});
    std::sort(busy.begin(), busy.end());
    size_t at = 0;
    for (const auto& [begin, end] : busy) {
      if (at + bytes <= begin) break;
      at = std::max(at, end);
    }
    layout.offsets[i] = at;
    layout.total = std::max(layout.total, at + bytes);
    placed.push_back(i);
  }
  // The invariant every kernel's correctness rests on, checked once per plan.
  for (size_t a = 0; a < n; ++a)
    for (size_t b = a + 1; b < n; ++b)
      if (blocks[a].bytes && blocks[b].bytes && overlap_in_time(blocks[a], blocks[b]))
        KILN_ASSERT(layout.offsets[a] + blocks[a].bytes <= layout.offsets[b] ||
                    layout.offsets[b] + blocks[b].bytes <= layout.offsets[a]);
  return layout;
}

}  // namespace kiln
