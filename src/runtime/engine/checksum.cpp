#include "runtime/engine/checksum.h"

#include <cstring>

namespace kiln {
namespace {

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;  // 2^64 / golden ratio, odd
constexpr uint64_t kMulA = 0xbf58476d1ce4e5b9ull, kMulB = 0x94d049bb133111ebull;

inline uint64_t rotl(uint64_t v, int r) { return (v << r) | (v >> (64 - r)); }

// A bijective mix with full avalanche (the splitmix64 finalizer).
inline uint64_t finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * kMulA;
  z = (z ^ (z >> 27)) * kMulB;
  return z ^ (z >> 31);
}

inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);  // kiln targets little-endian hosts (byte_archive.h)
  return v;
}

// One word into a lane: add, rotate, multiply by an odd constant — each step a bijection of the
// lane, so any change to one word changes that lane's final state.
inline uint64_t absorb(uint64_t lane, uint64_t word) { return rotl(lane + word * kMulB, 29) * kGolden; }

}  // namespace

uint64_t checksum64(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t lane[4] = {kGolden, kMulA, kMulB, ~kGolden};
  size_t i = 0;
  for (; i + 32 <= size; i += 32)
    for (int l = 0; l < 4; ++l) lane[l] = absorb(lane[l], load_le64(p + i + 8 * l));
  uint64_t h = uint64_t(size) * kGolden;
  for (int l = 0; l < 4; ++l) h = absorb(h, finalize(lane[l] + uint64_t(l)));
  for (; i + 8 <= size; i += 8) h = absorb(h, load_le64(p + i));
  for (; i < size; ++i) h = absorb(h, uint64_t(p[i]) + 0x100);  // tail bytes, never 0
  return finalize(h);
}

}  // namespace kiln
