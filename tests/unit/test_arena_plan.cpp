// The activation arena: blocks alive at the same time never share bytes, blocks that are not
// may (so the arena is smaller than the sum), offsets are aligned, and a chain of layers needs
// only its two largest neighbours at once.
#include <gtest/gtest.h>

#include <random>

#include "runtime/arena_plan.h"

namespace kiln {
namespace {

bool overlap(const ArenaBlock& a, const ArenaBlock& b) { return a.first <= b.last && b.first <= a.last; }

void expect_valid(const std::vector<ArenaBlock>& blocks, const ArenaLayout& l, size_t alignment) {
  ASSERT_EQ(l.offsets.size(), blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    EXPECT_EQ(l.offsets[i] % alignment, 0u);
    EXPECT_LE(l.offsets[i] + blocks[i].bytes, l.total);
    for (size_t j = i + 1; j < blocks.size(); ++j)
      if (overlap(blocks[i], blocks[j]) && blocks[i].bytes && blocks[j].bytes)
        EXPECT_TRUE(l.offsets[i] + blocks[i].bytes <= l.offsets[j] || l.offsets[j] + blocks[j].bytes <= l.offsets[i])
            << "blocks " << i << " and " << j << " share bytes while both alive";
  }
}

TEST(ArenaPlan, ChainReusesMemory) {
  // x0 -> n0 -> x1 -> n1 -> x2 ...: each tensor lives from its writer to its one reader.
  std::vector<ArenaBlock> blocks;
  for (int i = 0; i < 10; ++i) blocks.push_back({1000, i, i + 1});
  ArenaLayout l = plan_arena(blocks, 256);
  expect_valid(blocks, l, 256);
  EXPECT_EQ(l.total, 2 * 1024u);  // two neighbours alive at once, each rounded up to 1024
}

TEST(ArenaPlan, DisjointLifetimesShareTheSameBytes) {
  std::vector<ArenaBlock> blocks = {{4096, 0, 1}, {4096, 2, 3}, {4096, 4, 5}};
  ArenaLayout l = plan_arena(blocks, 256);
  expect_valid(blocks, l, 256);
  EXPECT_EQ(l.total, 4096u);
}

TEST(ArenaPlan, OverlappingLifetimesGetTheirOwnBytes) {
  std::vector<ArenaBlock> blocks = {{100, 0, 5}, {200, 1, 2}, {300, 2, 7}};
  ArenaLayout l = plan_arena(blocks, 64);
  expect_valid(blocks, l, 64);
  EXPECT_EQ(l.total, 128u + 256u + 320u);
}

TEST(ArenaPlan, RandomGraphsNeverOverlap) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<ArenaBlock> blocks;
    size_t sum = 0;
    int n = 1 + int(rng() % 200);
    for (int i = 0; i < n; ++i) {
      int first = int(rng() % 100);
      int last = first + int(rng() % 20);
      size_t bytes = rng() % 5 == 0 ? 0 : 1 + rng() % 100000;
      blocks.push_back({bytes, first, last});
      sum += (bytes + 255) / 256 * 256;
    }
    ArenaLayout l = plan_arena(blocks, 256);
    expect_valid(blocks, l, 256);
    EXPECT_LE(l.total, sum);
  }
}

TEST(ArenaPlan, EmptyPlan) {
  ArenaLayout l = plan_arena({}, 256);
  EXPECT_EQ(l.total, 0u);
  EXPECT_TRUE(l.offsets.empty());
}

}  // namespace
}  // namespace kiln
