// The engine file's payload checksum: 64 bits over a byte range, four independent lanes of
// 64-bit words so it runs at memory speed (FNV-1a's byte-serial multiply chain took 104 ms for a
// 55 MB SegFormer-B2 engine, a fifth of the load-time budget). Not cryptographic; it catches
// truncation, bit rot and stray edits, which is what the engine file needs.
#pragma once
#include <cstddef>
#include <cstdint>

namespace kiln {

uint64_t checksum64(const void* data, size_t size);

}  // namespace kiln
