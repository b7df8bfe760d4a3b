// kiln.ResizeSum's CPU reference against bilinear sampling written out here (half_pixel and
// align_corners, tokens and NCHW, Relu), and its refusals of inconsistent attributes and inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "harness.h"
#include "ops/op.h"

namespace kiln::test {
namespace {

struct In {
  int64_t h, w;
  bool tokens;
  std::string coord = "half_pixel";
};

OpCall make_call(int64_t b, int64_t c, int64_t H, int64_t W, const std::vector<In>& ins, bool relu, uint64_t seed) {
  OpCall call{"ResizeSum"};
  call.domain = kKilnDomain;
  std::vector<std::string> layouts, modes;
  std::vector<int64_t> hs, ws;
  for (const In& in : ins) {
    call.inputs.push_back(random_tensor(DType::kF32, in.tokens ? Dims{b, in.h * in.w, c} : Dims{b, c, in.h, in.w}, seed++));
    layouts.push_back(in.tokens ? "tokens" : "nchw");
    modes.push_back(in.coord);
    hs.push_back(in.h), ws.push_back(in.w);
  }
  call.attrs.set("height", H);
  call.attrs.set("width", W);
  call.attrs.set("layouts", layouts);
  call.attrs.set("coordinate_transformation_modes", modes);
  call.attrs.set("input_heights", hs);
  call.attrs.set("input_widths", ws);
  call.attrs.set("scales", std::vector<float>(2 * ins.size(), 0.f));
  call.attrs.set("activation", std::string(relu ? "relu" : "none"));
  return call;
}

// Source coordinate of output o (ONNX Resize, linear, sizes given), clamped taps and weights.
void taps(const std::string& coord, int64_t o, int64_t in, int64_t out, int64_t* i0, int64_t* i1, double* w1) {
  double x = coord == "align_corners" ? (out == 1 ? 0.0 : double(o) * double(in - 1) / double(out - 1))
                                      : (double(o) + 0.5) * double(in) / double(out) - 0.5;
  const double f = std::floor(x);
  *w1 = x - f;
  *i0 = std::clamp<int64_t>(int64_t(f), 0, in - 1);
  *i1 = std::clamp<int64_t>(int64_t(f) + 1, 0, in - 1);
}

std::vector<double> expected(const OpCall& call, int64_t b, int64_t c, int64_t H, int64_t W, const std::vector<In>& ins,
                             bool relu) {
  std::vector<double> y(size_t(b * c * H * W), 0.0);
  for (size_t k = 0; k < ins.size(); ++k) {
    const In& in = ins[k];
    const std::vector<double> x = to_doubles(call.inputs[k]);
    auto at = [&](int64_t n, int64_t ch, int64_t iy, int64_t ix) {
      return x[size_t(in.tokens ? ((n * in.h + iy) * in.w + ix) * c + ch : ((n * c + ch) * in.h + iy) * in.w + ix)];
    };
    for (int64_t n = 0; n < b; ++n)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t oy = 0; oy < H; ++oy)
          for (int64_t ox = 0; ox < W; ++ox) {
            int64_t y0, y1, x0, x1;
            double ry, rx;
            taps(in.coord, oy, in.h, H, &y0, &y1, &ry);
            taps(in.coord, ox, in.w, W, &x0, &x1, &rx);
            y[size_t(((n * c + ch) * H + oy) * W + ox)] +=
                (1 - ry) * ((1 - rx) * at(n, ch, y0, x0) + rx * at(n, ch, y0, x1)) +
                ry * ((1 - rx) * at(n, ch, y1, x0) + rx * at(n, ch, y1, x1));
          }
  }
  if (relu)
    for (double& v : y) v = std::max(v, 0.0);
  return y;
}

TEST(ResizeSumOp, MatchesBilinearSamplingWrittenOut) {
  const std::vector<In> ins = {{7, 9, true}, {3, 4, false}, {2, 5, true, "align_corners"}, {1, 1, false}};
  for (bool relu : {false, true}) {
    SCOPED_TRACE(relu);
    const OpCall call = make_call(2, 5, 7, 9, ins, relu, 40);
    const std::vector<Tensor> y = run_op(call);
    expect_dims(y[0], {2, 5, 7, 9});
    expect_close(y[0], expected(call, 2, 5, 7, 9, ins, relu), 1e-6, 1e-6);
  }
  // Downsampling: 2 taps of the coordinate's neighbours (no antialias), as Resize.
  const std::vector<In> down = {{13, 17, true}, {5, 4, false}};
  const OpCall call = make_call(1, 3, 5, 4, down, false, 50);
  expect_close(run_op(call)[0], expected(call, 1, 3, 5, 4, down, false), 1e-6, 1e-6);
}

TEST(ResizeSumOp, RefusesInconsistentAttributesAndInputs) {
  const std::vector<In> ins = {{7, 9, true}, {3, 4, false}};
  auto invalid = [&](const char* why, auto edit) {
    SCOPED_TRACE(why);
    OpCall call = make_call(1, 3, 7, 9, ins, false, 1);
    edit(call);
    EXPECT_EQ(error_code_of(call), ErrorCode::kInvalidModel);
  };
  invalid("no height", [](OpCall& c) {
    Attributes a;
    for (const auto& [k, v] : c.attrs.all())
      if (k != "height") a.set(k, v);
    c.attrs = a;
  });
  invalid("crop mode", [](OpCall& c) { c.attrs.set("coordinate_transformation_modes", std::vector<std::string>{"tf_crop_and_resize", "half_pixel"}); });
  invalid("bad layout", [](OpCall& c) { c.attrs.set("layouts", std::vector<std::string>{"nhwc", "nchw"}); });
  invalid("one entry short", [](OpCall& c) { c.attrs.set("input_heights", std::vector<int64_t>{7}); });
  invalid("token count", [](OpCall& c) { c.attrs.set("input_widths", std::vector<int64_t>{8, 4}); });
  invalid("nchw image size", [](OpCall& c) { c.attrs.set("input_heights", std::vector<int64_t>{7, 2}); });
  invalid("scale not giving the size", [](OpCall& c) { c.attrs.set("scales", std::vector<float>{0, 0, 2.f, 2.f}); });
  invalid("activation", [](OpCall& c) { c.attrs.set("activation", std::string("gelu")); });
  invalid("channels differ", [](OpCall& c) { c.inputs[1] = random_tensor(DType::kF32, {1, 4, 3, 4}, 9); });
  invalid("batches differ", [](OpCall& c) { c.inputs[1] = random_tensor(DType::kF32, {2, 3, 3, 4}, 9); });
  invalid("dtypes differ", [](OpCall& c) { c.inputs[1] = random_tensor(DType::kF16, {1, 3, 3, 4}, 9); });
}

}  // namespace
}  // namespace kiln::test
