// Pictures with an alpha channel and single-channel (gray) pictures: PNG writing through
// stb_image_write, and decoding into RGBA through stb_image.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

struct ImageRgba {
  int width = 0, height = 0;
  std::vector<uint8_t> rgba;  // height * width * 4, row-major, straight (not premultiplied) alpha
};

// Any picture stb decodes (PNG, JPEG, BMP, ...) as RGBA; opaque pictures get alpha 255.
ImageRgba read_image_rgba(const std::string& path);
// The same from a whole picture file held in memory; `what` names it in errors.
ImageRgba decode_image_rgba(std::string_view bytes, const std::string& what);
void write_png_rgba(const std::string& path, const ImageRgba& img);  // atomic
// width * height bytes, one gray channel.
void write_png_gray(const std::string& path, int width, int height, const std::vector<uint8_t>& gray);

}  // namespace kiln
