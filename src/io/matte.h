// Foreground mattes (alpha in [0, 1] per pixel) from a model's single-channel output, and the
// pictures made from them: the gray mask, the cut-out with alpha, the cut-out over a checkerboard.
#pragma once
#include <cstdint>
#include <vector>

#include "io/image.h"
#include "io/png_rgba.h"
#include "ir/tensor.h"

namespace kiln {

struct Matte {
  int width = 0, height = 0;
  std::vector<float> alpha;  // height * width, row-major, in [0, 1]
};

// [H, W], [1, H, W] or [1, 1, H, W] of any float type. apply_sigmoid: the output holds logits;
// otherwise the values are taken as probabilities and clamped to [0, 1]. kInvalidArgument when
// the output is not one channel.
Matte matte_from_output(const Tensor& output, bool apply_sigmoid);
Matte resize_matte(const Matte& m, int width, int height);  // bilinear, half-pixel centers
std::vector<uint8_t> matte_bytes(const Matte& m);           // round(alpha * 255)
// Fraction of pixels with alpha >= 0.5.
double foreground_fraction(const Matte& m);

// The picture with the matte as its alpha channel (same size).
ImageRgba cut_out(const Image& picture, const Matte& m);
// The cut-out composited over a gray checkerboard, to show transparency in an RGB picture.
Image over_checkerboard(const ImageRgba& img, int square = 16);

}  // namespace kiln
