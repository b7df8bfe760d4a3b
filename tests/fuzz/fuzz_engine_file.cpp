// The engine-file loader on arbitrary bytes: the target peek on the first 4 KiB (what
// `kiln run` reads before choosing a device), then the full parse. kiln::Error is expected.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kiln/status.h"
#include "runtime/engine/engine_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    std::string_view head(bytes.data(), bytes.size() < 4096 ? bytes.size() : 4096);
    (void)kiln::peek_engine_target_head(head, "fuzz.kiln");
  } catch (const kiln::Error&) {
  }
  try {
    (void)kiln::engine_from_bytes(bytes, "fuzz.kiln");
  } catch (const kiln::Error&) {
  }
  return 0;
}
