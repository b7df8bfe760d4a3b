// The engine-file loader on arbitrary bytes: the target peek on the first 4 KiB (what
// `kiln run` reads before choosing a device), then the full parse. kiln::Error is expected.
// Mutated payloads rarely keep a valid checksum, so each input is parsed a second time with
// the header's payload size and checksum made to fit: that reaches the graph reader.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "kiln/status.h"
#include "runtime/engine/checksum.h"
#include "runtime/engine/engine_file.h"

namespace {

constexpr size_t kHeader = 32;  // magic, version, payload size at 16, checksum at 24

void put_u64(std::string& s, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) s[at + i] = char(uint8_t(v >> (8 * i)));  // little-endian
}

void parse(const std::string& bytes) {
  try {
    std::string_view head(bytes.data(), bytes.size() < 4096 ? bytes.size() : 4096);
    (void)kiln::peek_engine_target_head(head, "fuzz.kiln");
  } catch (const kiln::Error&) {
  }
  try {
    (void)kiln::engine_from_bytes(bytes, "fuzz.kiln");
  } catch (const kiln::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  parse(bytes);
  if (bytes.size() >= kHeader) {
    put_u64(bytes, 16, bytes.size() - kHeader);
    put_u64(bytes, 24, kiln::checksum64(bytes.data() + kHeader, bytes.size() - kHeader));
    parse(bytes);
  }
  return 0;
}
