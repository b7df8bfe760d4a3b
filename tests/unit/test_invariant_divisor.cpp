// InvariantDivisor (ops/norm/invariant_divisor.h) against the CPU's own division, on divisors
// from 1 to 2^32 - 1 (powers of two, their neighbours, primes, random) and numerators at the
// edges (0, around multiples of d, up to 2^32 - 1) and random; and PatchRowMap, which divides
// with it, against its formula written with plain divisions on SegFormer's geometries and odd ones.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "ops/norm/invariant_divisor.h"
#include "ops/norm/patch_row_map.h"

namespace kiln {
namespace {

TEST(InvariantDivisor, MatchesDivisionOnEdgesAndRandomValues) {
  std::vector<uint32_t> divisors = {1, 2, 3, 5, 6, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100, 255, 256, 257, 641,
                                    4096, 65535, 65536, 65537, 1000003, 0x7fffffffu, 0x80000000u, 0x80000001u,
                                    0xfffffffeu, 0xffffffffu};
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) divisors.push_back(rng() | 1u), divisors.push_back((rng() >> (rng() % 31)) + 1);
  for (uint32_t d : divisors) {
    const norm::InvariantDivisor div(d);
    std::vector<uint32_t> ns = {0, 1, 2, d - 1, d, d + 1, 2 * d - 1, 2 * d, 0x7fffffffu, 0x80000000u, 0xfffffffeu,
                                0xffffffffu, 0xffffffffu - d, 0xffffffffu / d * d, 0xffffffffu / d * d - 1};
    for (int i = 0; i < 500; ++i) ns.push_back(rng());
    for (uint32_t n : ns) ASSERT_EQ(div.div(n), n / d) << n << " / " << d;
  }
}

TEST(InvariantDivisor, PatchRowMapKeepsItsFormula) {
  struct Geometry {
    uint32_t h, w, p;
  };
  for (const Geometry& g : {Geometry{256, 256, 8}, Geometry{128, 128, 4}, Geometry{64, 64, 2}, Geometry{32, 32, 1},
                            Geometry{12, 18, 3}, Geometry{7, 35, 7}, Geometry{6, 10, 2}}) {
    const norm::PatchRowMap map(g.h, g.w, g.p);
    const uint32_t hw = g.h * g.w;
    for (uint32_t row = 0; row < 3 * hw; ++row) {
      const uint32_t b = row / hw, t = row % hw, y = t / g.w, x = t % g.w;
      const uint32_t want =
          ((b * (g.h / g.p) + y / g.p) * (g.w / g.p) + x / g.p) * g.p * g.p + (y % g.p) * g.p + x % g.p;
      ASSERT_EQ(map(row), want) << g.h << "x" << g.w << " p" << g.p << " row " << row;
    }
  }
}

}  // namespace
}  // namespace kiln
