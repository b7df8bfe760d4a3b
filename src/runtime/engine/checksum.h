// 64-bit FNV-1a over a byte range: the engine file's payload checksum. Not cryptographic; it
// catches truncation, bit rot and stray edits, which is what the engine file needs.
#pragma once
#include <cstddef>
#include <cstdint>

namespace kiln {

inline constexpr uint64_t kFnv1aOffset = 0xcbf29ce484222325ull;

uint64_t fnv1a_64(const void* data, size_t size, uint64_t hash = kFnv1aOffset);

}  // namespace kiln
