// The .npz reader (zip, zip64, stored/deflate members, CRC-32, then each member's .npy) on
// arbitrary bytes. kiln::Error is expected.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "io/npz.h"
#include "kiln/status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)kiln::parse_npz(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.npz");
  } catch (const kiln::Error&) {
  }
  return 0;
}
