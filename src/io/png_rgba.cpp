#include "io/png_rgba.h"

#include <stb_image_write.h>


#include "io/file_util.h"
#include "io/image.h"
#include "kiln/status.h"

namespace kiln {
namespace {

void write_png_channels(const std::string& path, int width, int height, int channels, const uint8_t* pixels) {
  std::string png;
  auto append = [](void* ctx, void* data, int size) {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), size_t(size));
  };
  if (!stbi_write_png_to_func(append, &png, width, height, channels, pixels, width * channels))
    fail(ErrorCode::kInternal, "internal error: PNG encoding failed for " + path);
  write_file_atomic(path, png);
}

}  // namespace

ImageRgba decode_image_rgba(std::string_view bytes, const std::string& what) {
  ImageRgba img;
  img.rgba = decode_pixels(bytes, what, 4, img.width, img.height);
  return img;
}

ImageRgba read_image_rgba(const std::string& path) {
  return decode_image_rgba(read_file(path, uint64_t(1) << 30), path);
}

void write_png_rgba(const std::string& path, const ImageRgba& img) {
  KILN_ASSERT(img.rgba.size() == size_t(img.width) * size_t(img.height) * 4);
  write_png_channels(path, img.width, img.height, 4, img.rgba.data());
}

void write_png_gray(const std::string& path, int width, int height, const std::vector<uint8_t>& gray) {
  KILN_ASSERT(gray.size() == size_t(width) * size_t(height));
  write_png_channels(path, width, height, 1, gray.data());
}

}  // namespace kiln
