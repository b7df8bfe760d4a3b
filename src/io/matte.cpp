#include "io/matte.h"

#include <algorithm>
#include <cmath>

#include "kiln/status.h"

namespace kiln {

Matte matte_from_output(const Tensor& output, bool apply_sigmoid) {
  const Dims& d = output.dims();
  bool one_channel = d.size() >= 2 && d.size() <= 4 &&
                     std::all_of(d.begin(), d.end() - 2, [](int64_t v) { return v == 1; });
  if (!one_channel)
    fail(ErrorCode::kInvalidArgument, "--task matte needs a single-channel output ([1, 1, H, W]), got " +
                                          dims_to_string(d) + " (use --task semantic for class scores)");
  Matte m{int(d[d.size() - 1]), int(d[d.size() - 2]), {}};
  m.alpha.resize(size_t(output.numel()));
  for (int64_t i = 0; i < output.numel(); ++i) {
    double v = output.at_double(i);
    if (apply_sigmoid) v = 1.0 / (1.0 + std::exp(-v));
    m.alpha[size_t(i)] = std::isnan(v) ? 0.0f : float(std::clamp(v, 0.0, 1.0));
  }
  return m;
}

Matte resize_matte(const Matte& m, int width, int height) {
  auto axis = [](int in, int out, int o, int& lo, int& hi) {
    float x = std::clamp((float(o) + 0.5f) * float(in) / float(out) - 0.5f, 0.0f, float(in - 1));
    lo = int(x);
    hi = std::min(lo + 1, in - 1);
    return x - float(lo);
  };
  Matte out{width, height, std::vector<float>(size_t(width) * size_t(height))};
  for (int y = 0; y < height; ++y) {
    int y0, y1;
    float wy = axis(m.height, height, y, y0, y1);
    for (int x = 0; x < width; ++x) {
      int x0, x1;
      float wx = axis(m.width, width, x, x0, x1);
      auto at = [&](int yy, int xx) { return m.alpha[size_t(yy) * size_t(m.width) + size_t(xx)]; };
      float top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx;
      float bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx;
      out.alpha[size_t(y) * size_t(width) + size_t(x)] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}

std::vector<uint8_t> matte_bytes(const Matte& m) {
  std::vector<uint8_t> bytes(m.alpha.size());
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(std::lround(m.alpha[i] * 255.0f));
  return bytes;
}

double foreground_fraction(const Matte& m) {
  if (m.alpha.empty()) return 0;
  size_t n = size_t(std::count_if(m.alpha.begin(), m.alpha.end(), [](float a) { return a >= 0.5f; }));
  return double(n) / double(m.alpha.size());
}

ImageRgba cut_out(const Image& picture, const Matte& m) {
  KILN_ASSERT(picture.width == m.width && picture.height == m.height);
  std::vector<uint8_t> alpha = matte_bytes(m);
  ImageRgba out{m.width, m.height, std::vector<uint8_t>(alpha.size() * 4)};
  for (size_t i = 0; i < alpha.size(); ++i) {
    std::copy_n(&picture.rgb[i * 3], 3, &out.rgba[i * 4]);
    out.rgba[i * 4 + 3] = alpha[i];
  }
  return out;
}

Image over_checkerboard(const ImageRgba& img, int square) {
  Image out{img.width, img.height, std::vector<uint8_t>(size_t(img.width) * size_t(img.height) * 3)};
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      size_t i = size_t(y) * size_t(img.width) + size_t(x);
      float bg = ((x / square + y / square) % 2) ? 204.0f : 255.0f;
      float a = float(img.rgba[i * 4 + 3]) / 255.0f;
      for (int c = 0; c < 3; ++c)
        out.rgb[i * 3 + size_t(c)] = uint8_t(std::lround(a * float(img.rgba[i * 4 + size_t(c)]) + (1 - a) * bg));
    }
  return out;
}

}  // namespace kiln
