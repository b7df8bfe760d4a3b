// The .npy parser on arbitrary bytes; a parsed tensor is serialized again, which must not throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "io/npy.h"
#include "kiln/status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kiln::Tensor t;
  try {
    t = kiln::parse_npy(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.npy");
  } catch (const kiln::Error&) {
    return 0;
  }
  (void)kiln::serialize_npy(t);  // outside the try: what parses must write back
  return 0;
}
