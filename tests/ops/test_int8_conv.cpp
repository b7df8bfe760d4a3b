// kiln.Int8Conv's CPU reference against its semantics written out here: quantized X, the window
// sums in int64 over every (c, i, j) with padding as 0, each float step rounded once in the
// documented order (Z before the activation) — bit for bit where the activation is none or relu.
#include <gtest/gtest.h>

#include <cmath>

#include "harness.h"
#include "ops/quantize/int8_conv.h"

namespace kiln::test {
namespace {

struct Geometry {
  Dims x;               // N, C, H, W
  int64_t o, kh, kw;
  Dims strides, pads, dilations;  // pads: top, left, bottom, right
};

struct Case {
  Geometry g;
  Tensor x, sx, w, sw, b, z;
  std::string act = "none";
};

OpCall call_of(const Case& c) {
  OpCall call{quant::kInt8ConvOp, {c.x, c.sx, c.w, c.sw, c.b, c.z}};
  call.domain = "kiln";
  call.opset = 1;
  call.attrs.set("strides", c.g.strides);
  call.attrs.set("pads", c.g.pads);
  call.attrs.set("dilations", c.g.dilations);
  call.attrs.set("activation", c.act);
  return call;
}

double as_f32(double v) { return double(float(v)); }

std::vector<double> expected(const Case& c, Dims& out) {
  const Geometry& g = c.g;
  const int64_t n = g.x[0], ch = g.x[1], h = g.x[2], w = g.x[3];
  const int64_t oh = (h + g.pads[0] + g.pads[2] - (g.kh - 1) * g.dilations[0] - 1) / g.strides[0] + 1;
  const int64_t ow = (w + g.pads[1] + g.pads[3] - (g.kw - 1) * g.dilations[1] - 1) / g.strides[1] + 1;
  out = {n, g.o, oh, ow};
  const std::vector<double> x = to_doubles(c.x);
  const float sx = c.sx.data<float>()[0];
  std::vector<int64_t> q(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double quotient = as_f32(float(x[i]) / sx);
    q[i] = std::isnan(quotient) ? 0 : int64_t(std::fmin(127, std::fmax(-128, std::nearbyint(quotient))));
  }
  const std::vector<double> b = c.b.defined() ? to_doubles(c.b) : std::vector<double>(),
                            z = c.z.defined() ? to_doubles(c.z) : std::vector<double>();
  std::vector<double> y;
  for (int64_t img = 0; img < n; ++img)
    for (int64_t o = 0; o < g.o; ++o)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          int64_t acc = 0;
          for (int64_t cc = 0; cc < ch; ++cc)
            for (int64_t i = 0; i < g.kh; ++i)
              for (int64_t j = 0; j < g.kw; ++j) {
                const int64_t iy = oy * g.strides[0] - g.pads[0] + i * g.dilations[0];
                const int64_t ix = ox * g.strides[1] - g.pads[1] + j * g.dilations[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                acc += q[size_t(((img * ch + cc) * h + iy) * w + ix)] *
                       c.w.data<int8_t>()[((o * ch + cc) * g.kh + i) * g.kw + j];
              }
          const float sw = c.sw.data<float>()[c.sw.numel() == 1 ? 0 : o];
          double v = as_f32(as_f32(double(acc)) * as_f32(double(sx) * sw));
          if (!b.empty()) v = as_f32(v + b[size_t(o)]);
          if (!z.empty()) v = as_f32(v + z[y.size()]);
          if (c.act == "relu") v = v < 0 ? 0 : v;
          y.push_back(v);
        }
  return y;
}

Case random_case(const Geometry& g, uint64_t seed, bool per_channel) {
  Case c{g};
  c.x = random_tensor(DType::kF32, g.x, seed, -3, 3);
  c.sx = Tensor::scalar<float>(2.5f / 127);
  c.w = random_tensor(DType::kI8, {g.o, g.x[1], g.kh, g.kw}, seed + 1, -128, 127);
  c.sw = per_channel ? random_tensor(DType::kF32, {g.o}, seed + 2, 1e-3, 2e-2) : Tensor::scalar<float>(0.01f);
  return c;
}

TEST(Int8Conv, MatchesWrittenOutSemanticsBitForBit) {
  const std::vector<Geometry> geometries = {
      {{1, 3, 17, 13}, 5, 7, 7, {4, 4}, {3, 3, 3, 3}, {1, 1}},  // SegFormer's first patch embedding, odd size
      {{2, 4, 9, 9}, 3, 3, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}},
      {{1, 2, 8, 11}, 4, 3, 2, {1, 2}, {0, 1, 2, 0}, {2, 1}},  // uneven pads, dilation
      {{2, 5, 6, 6}, 6, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}},   // 1x1
  };
  uint64_t seed = 600;
  for (const Geometry& g : geometries)
    for (const char* act : {"none", "relu"})
      for (int extras = 0; extras < 3; ++extras) {
        Case c = random_case(g, seed += 3, extras != 1);
        Dims out;
        expected(c, out);
        if (extras >= 1) c.b = random_tensor(DType::kF32, {g.o}, seed + 10);
        if (extras >= 2) c.z = random_tensor(DType::kF32, out, seed + 11);
        c.act = act;
        const std::vector<double> want = expected(c, out);
        const std::vector<Tensor> y = run_op(call_of(c));
        expect_dims(y[0], out);
        expect_close(y[0], want, 0, 0);
      }
}

TEST(Int8Conv, RefusesWhatItDoesNotImplement) {
  Case c = random_case({{1, 4, 8, 8}, 4, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}}, 700, true);
  OpCall grouped = call_of(c);
  grouped.attrs.set("group", int64_t(2));
  grouped.inputs[2] = random_tensor(DType::kI8, {4, 2, 3, 3}, 701, -5, 5);
  EXPECT_EQ(error_code_of(grouped), ErrorCode::kUnsupported);
  OpCall one_d = call_of(c);
  one_d.inputs[0] = random_tensor(DType::kF32, {1, 4, 8}, 702);
  one_d.inputs[2] = random_tensor(DType::kI8, {4, 4, 3}, 703, -5, 5);
  one_d.attrs = Attributes();
  EXPECT_EQ(error_code_of(one_d), ErrorCode::kUnsupported);
  OpCall wrong_scale = call_of(c);
  wrong_scale.inputs[3] = Tensor::from_vector<float>({3}, {1.f, 1.f, 1.f});
  EXPECT_EQ(error_code_of(wrong_scale), ErrorCode::kInvalidModel);
}

}  // namespace
}  // namespace kiln::test
