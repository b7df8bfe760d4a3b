// Picture decoding (PNG, JPEG, BMP, ... through stb_image, compiled with instrumentation in the
// fuzz build) as RGB and as RGBA, from arbitrary bytes. kiln::Error is expected.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "io/image.h"
#include "io/png_rgba.h"
#include "kiln/status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    (void)kiln::decode_image(bytes, "fuzz picture");
  } catch (const kiln::Error&) {
  }
  try {
    (void)kiln::decode_image_rgba(bytes, "fuzz picture");
  } catch (const kiln::Error&) {
  }
  return 0;
}
