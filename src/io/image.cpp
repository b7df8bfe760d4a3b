#include "io/image.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "io/file_util.h"
#include "io/picture_check.h"

namespace kiln {

std::vector<uint8_t> decode_pixels(std::string_view bytes, const std::string& what, int channels,
                                   int& width, int& height) {
  if (bytes.size() > size_t(INT32_MAX))
    fail(ErrorCode::kInvalidArgument, what + " is larger than 2 GiB; not a picture kiln reads");
  // Only the formats kiln documents reach stb: its other decoders (PNM, GIF, PSD, HDR, TGA,
  // PIC) are less tried, and fuzzing found 16-bit PNM reading past its buffer in stb 2.27.
  auto starts = [&](std::string_view magic) { return bytes.substr(0, magic.size()) == magic; };
  if (!starts(std::string_view("\x89PNG\r\n\x1a\n", 8)) && !starts("\xff\xd8") && !starts("BM"))
    fail(ErrorCode::kInvalidArgument, what + " is not a readable picture (its first bytes are not PNG, JPEG or BMP)");
  check_jpeg_huffman_tables(bytes, what);
  check_jpeg_scan_tables(bytes, what);
  check_png_chunk_lengths(bytes, what);
  auto data = reinterpret_cast<const uint8_t*>(bytes.data());
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(data, int(bytes.size()), &w, &h, &c))
    fail(ErrorCode::kInvalidArgument, what + " is not a readable picture (" + stbi_failure_reason() +
                                          "); use PNG, JPEG or BMP");
  if (w <= 0 || h <= 0 || uint64_t(w) * uint64_t(h) > kMaxImagePixels)
    fail(ErrorCode::kInvalidArgument, what + " declares " + std::to_string(w) + "x" + std::to_string(h) +
                                          " pixels; kiln reads pictures up to " +
                                          std::to_string(kMaxImagePixels) + " pixels");
  check_jpeg_size(bytes, what);  // after the size cap, so an absurd size is named as such
  check_bmp_size(bytes, what);
  std::unique_ptr<uint8_t, void (*)(void*)> pixels(
      stbi_load_from_memory(data, int(bytes.size()), &w, &h, &c, channels), stbi_image_free);
  if (!pixels)
    fail(ErrorCode::kInvalidArgument, what + " is not a readable picture (" + stbi_failure_reason() +
                                          "); use PNG, JPEG or BMP");
  width = w;
  height = h;
  return std::vector<uint8_t>(pixels.get(), pixels.get() + size_t(w) * size_t(h) * size_t(channels));
}

Image decode_image(std::string_view bytes, const std::string& what) {
  Image img;
  img.rgb = decode_pixels(bytes, what, 3, img.width, img.height);
  return img;
}

Image read_image(const std::string& path) { return decode_image(read_file(path, uint64_t(1) << 30), path); }

void write_png(const std::string& path, const Image& img) {
  std::string png;
  auto append = [](void* ctx, void* data, int size) {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), size_t(size));
  };
  if (!stbi_write_png_to_func(append, &png, img.width, img.height, 3, img.rgb.data(), img.width * 3))
    fail(ErrorCode::kInternal, "internal error: PNG encoding failed for " + path);
  write_file_atomic(path, png);
}

namespace {

// Source coordinate and weights for half-pixel bilinear sampling along one axis.
struct Tap {
  int lo, hi;
  float w;
};

std::vector<Tap> taps(int in, int out) {
  std::vector<Tap> t(static_cast<size_t>(out));
  float scale = float(in) / float(out);
  for (int o = 0; o < out; ++o) {
    float x = std::clamp((float(o) + 0.5f) * scale - 0.5f, 0.0f, float(in - 1));
    int lo = int(x);
    t[size_t(o)] = {lo, std::min(lo + 1, in - 1), x - float(lo)};
  }
  return t;
}

template <class Put> void bilinear(const Image& img, int width, int height, Put put) {
  auto tx = taps(img.width, width), ty = taps(img.height, height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) {
        auto at = [&](int yy, int xx) { return float(img.rgb[(size_t(yy) * img.width + xx) * 3 + c]); };
        const Tap &a = ty[size_t(y)], &b = tx[size_t(x)];
        float top = at(a.lo, b.lo) * (1 - b.w) + at(a.lo, b.hi) * b.w;
        float bottom = at(a.hi, b.lo) * (1 - b.w) + at(a.hi, b.hi) * b.w;
        put(y, x, c, top * (1 - a.w) + bottom * a.w);
      }
}

}  // namespace

Image resize_bilinear(const Image& img, int width, int height) {
  Image out{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
  bilinear(img, width, height, [&](int y, int x, int c, float v) {
    out.rgb[(size_t(y) * width + x) * 3 + c] = uint8_t(std::clamp(std::lround(v), 0L, 255L));
  });
  return out;
}

Tensor image_to_tensor(const Image& img, int width, int height, std::array<float, 3> mean,
                       std::array<float, 3> std) {
  Tensor t(DType::kF32, {1, 3, height, width});
  float* p = t.data<float>();
  bilinear(img, width, height, [&](int y, int x, int c, float v) {
    p[(size_t(c) * height + y) * width + x] = (v / 255.0f - mean[size_t(c)]) / std[size_t(c)];
  });
  return t;
}

std::vector<int32_t> argmax_labels(const Tensor& logits) {
  KILN_ASSERT(logits.rank() == 4 && logits.dim(0) >= 1);
  int64_t c = logits.dim(1), hw = logits.dim(2) * logits.dim(3);
  std::vector<int32_t> labels(size_t(hw), 0);
  std::vector<double> best(size_t(hw), -INFINITY);
  for (int64_t k = 0; k < c; ++k)
    for (int64_t i = 0; i < hw; ++i) {
      double v = logits.at_double(k * hw + i);
      if (v > best[size_t(i)]) best[size_t(i)] = v, labels[size_t(i)] = int32_t(k);
    }
  return labels;
}

Image colorize(const std::vector<int32_t>& labels, int width, int height, Palette palette) {
  Image img{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
  for (size_t i = 0; i < labels.size(); ++i) {
    Rgb c = palette_color(labels[i], palette);
    std::copy(c.begin(), c.end(), img.rgb.begin() + long(i * 3));
  }
  return img;
}

Image resize_nearest(const Image& img, int width, int height) {
  Image out{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      int sy = std::min(img.height - 1, int(int64_t(y) * img.height / height));
      int sx = std::min(img.width - 1, int(int64_t(x) * img.width / width));
      std::copy_n(&img.rgb[(size_t(sy) * img.width + sx) * 3], 3, &out.rgb[(size_t(y) * width + x) * 3]);
    }
  return out;
}

Image blend(const Image& base, const Image& overlay, float alpha) {
  KILN_ASSERT(base.width == overlay.width && base.height == overlay.height);
  Image out = base;
  for (size_t i = 0; i < out.rgb.size(); ++i)
    out.rgb[i] = uint8_t(std::lround(alpha * overlay.rgb[i] + (1 - alpha) * base.rgb[i]));
  return out;
}

Image side_by_side(const Image& left, const Image& right, int gap) {
  int rw = right.height == left.height
               ? right.width
               : std::max(1, int(std::lround(double(right.width) * left.height / right.height)));
  Image r = right.height == left.height ? right : resize_bilinear(right, rw, left.height);
  int width = left.width + gap + rw;
  Image out{width, left.height, std::vector<uint8_t>(size_t(width) * left.height * 3, 255)};
  for (int y = 0; y < left.height; ++y) {
    std::copy_n(&left.rgb[size_t(y) * left.width * 3], size_t(left.width) * 3, &out.rgb[size_t(y) * width * 3]);
    std::copy_n(&r.rgb[size_t(y) * rw * 3], size_t(rw) * 3, &out.rgb[(size_t(y) * width + left.width + gap) * 3]);
  }
  return out;
}

}  // namespace kiln
