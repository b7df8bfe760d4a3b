// Pictures in and out: decoding (PNG, JPEG, BMP, ... through stb_image), resizing, turning a
// picture into a normalized NCHW tensor, and label maps into color pictures.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/palettes.h"
#include "ir/tensor.h"

namespace kiln {

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // height * width * 3, row-major
};

Image read_image(const std::string& path);  // kNotFound / kInvalidArgument naming the file
// Decodes a whole picture file held in memory; `what` names it in errors.
Image decode_image(std::string_view bytes, const std::string& what);
// Pictures larger than this many pixels are refused before decoding: a header of a few bytes
// may declare 2^24 x 2^24, and stb would try to allocate it.
inline constexpr uint64_t kMaxImagePixels = uint64_t(1) << 26;  // e.g. 8192 x 8192
// stb's decode of `bytes` into `channels` 8-bit channels per pixel, dims checked against
// kMaxImagePixels first (kInvalidArgument naming `what`); the pixels are copied out.
std::vector<uint8_t> decode_pixels(std::string_view bytes, const std::string& what, int channels,
                                   int& width, int& height);
void write_png(const std::string& path, const Image& img);  // atomic

Image resize_bilinear(const Image& img, int width, int height);

// [1, 3, height, width] float32: resized (bilinear, half-pixel), scaled to [0, 1], then
// (x - mean) / std per channel.
Tensor image_to_tensor(const Image& img, int width, int height, std::array<float, 3> mean,
                       std::array<float, 3> std);

// Per-pixel argmax over C of [1, C, H, W] logits → class ids (H*W).
std::vector<int32_t> argmax_labels(const Tensor& logits);

// Class ids → colors from a resolved palette (io/palettes.h).
Image colorize(const std::vector<int32_t>& labels, int width, int height, Palette palette);
Image resize_nearest(const Image& img, int width, int height);
// alpha * overlay + (1 - alpha) * base, same size.
Image blend(const Image& base, const Image& overlay, float alpha);
// left | gap | right on a white background; right is scaled (bilinear) to left's height.
Image side_by_side(const Image& left, const Image& right, int gap = 8);

}  // namespace kiln
