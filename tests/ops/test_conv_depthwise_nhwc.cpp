// DepthwiseConvNHWC (kiln domain) against a double-precision loop written here, on awkward
// shapes: channel counts 1, 3, 17, 64; images 1, 3, 17, 33 on either side; kernels 1, 3, 5;
// pads 0-2; batch 1 and 2; strides, dilations, asymmetric pads, auto_pad; f16 and f64.
#include "harness.h"
#include "ops/op.h"

namespace kiln::test {
namespace {

struct Geometry {
  int64_t kh = 3, kw = 3;
  Dims strides = {1, 1}, dilations = {1, 1}, pads = {1, 1, 1, 1};  // pads: top, left, bottom, right
};

OpCall call_of(const Tensor& x, const Tensor& w, const Tensor* b, int64_t height, int64_t width, const Geometry& g) {
  OpCall c{.op = "DepthwiseConvNHWC", .inputs = {x, w}};
  if (b) c.inputs.push_back(*b);
  c.domain = kKilnDomain;
  c.attrs.set("height", height);
  c.attrs.set("width", width);
  c.attrs.set("strides", g.strides);
  c.attrs.set("dilations", g.dilations);
  c.attrs.set("pads", g.pads);
  return c;
}

// y[n, oh*OW + ow, c] = b[c] + sum_{i,j} w[c,0,i,j] x[n, ih*W + iw, c] over taps inside the image.
std::vector<double> reference(const Tensor& x, const Tensor& w, const Tensor* b, int64_t H, int64_t W,
                              const Geometry& g, Dims& out_dims) {
  const int64_t B = x.dim(0), C = x.dim(2);
  const int64_t OH = (H + g.pads[0] + g.pads[2] - (g.kh - 1) * g.dilations[0] - 1) / g.strides[0] + 1;
  const int64_t OW = (W + g.pads[1] + g.pads[3] - (g.kw - 1) * g.dilations[1] - 1) / g.strides[1] + 1;
  out_dims = {B, OH * OW, C};
  std::vector<double> y(size_t(B * OH * OW * C));
  for (int64_t n = 0; n < B; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t c = 0; c < C; ++c) {
          double acc = b ? b->at_double(c) : 0.0;
          for (int64_t i = 0; i < g.kh; ++i)
            for (int64_t j = 0; j < g.kw; ++j) {
              const int64_t ih = oh * g.strides[0] - g.pads[0] + i * g.dilations[0];
              const int64_t iw = ow * g.strides[1] - g.pads[1] + j * g.dilations[1];
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              acc += w.at_double((c * g.kh + i) * g.kw + j) * x.at_double((n * H * W + ih * W + iw) * C + c);
            }
          y[size_t(((n * OH + oh) * OW + ow) * C + c)] = acc;
        }
  return y;
}

void check(int64_t B, int64_t H, int64_t W, int64_t C, const Geometry& g, bool bias, DType dt, uint64_t seed,
           double tol) {
  SCOPED_TRACE("B " + std::to_string(B) + " H " + std::to_string(H) + " W " + std::to_string(W) + " C " +
               std::to_string(C) + " k " + std::to_string(g.kh) + "x" + std::to_string(g.kw) + " seed " +
               std::to_string(seed));
  Tensor x = random_tensor(dt, {B, H * W, C}, seed);
  Tensor w = random_tensor(dt, {C, 1, g.kh, g.kw}, seed + 1);
  Tensor b = random_tensor(dt, {C}, seed + 2);
  Dims want_dims;
  std::vector<double> want = reference(x, w, bias ? &b : nullptr, H, W, g, want_dims);
  std::vector<Tensor> got = run_op(call_of(x, w, bias ? &b : nullptr, H, W, g));
  expect_dims(got.at(0), want_dims);
  expect_close(got[0], want, tol, tol);
}

TEST(DepthwiseConvNhwcOp, AwkwardShapes) {
  uint64_t seed = 100;
  for (int64_t C : {1, 3, 17, 64})
    for (int64_t H : {1, 3, 17, 33})
      for (int64_t W : {1, 3, 17, 33})
        for (int64_t k : {1, 3, 5})
          for (int64_t p : {0, 1, 2}) {
            if (H + 2 * p < k || W + 2 * p < k) continue;  // no output pixel
            Geometry g{.kh = k, .kw = k, .pads = {p, p, p, p}};
            check(seed % 2 ? 2 : 1, H, W, C, g, seed % 3 != 0, DType::kF32, seed, 1e-5);
            seed += 3;
            if (HasFatalFailure()) return;
          }
}

TEST(DepthwiseConvNhwcOp, StridesDilationsAsymmetricPads) {
  check(2, 17, 13, 5, {.kh = 3, .kw = 3, .strides = {2, 2}}, true, DType::kF32, 1, 1e-5);
  check(1, 17, 33, 3, {.kh = 3, .kw = 5, .strides = {2, 3}, .dilations = {2, 1}, .pads = {0, 2, 3, 1}}, true,
        DType::kF32, 2, 1e-5);
  check(2, 9, 10, 17, {.kh = 5, .kw = 3, .dilations = {1, 3}, .pads = {2, 0, 1, 4}}, false, DType::kF32, 3, 1e-5);
  check(1, 1, 33, 4, {.kh = 1, .kw = 7, .strides = {1, 2}, .pads = {0, 3, 0, 3}}, true, DType::kF32, 4, 1e-5);
}

TEST(DepthwiseConvNhwcOp, AutoPadAndKernelShape) {
  // SAME_UPPER at stride 2 on 9 columns: 5 outputs, pads 1 at the start, 1 at the end (rows:
  // 10 → 5, pads 0 and 1).
  Tensor x = random_tensor(DType::kF32, {1, 10 * 9, 6}, 5), w = random_tensor(DType::kF32, {6, 1, 3, 3}, 6);
  OpCall c{.op = "DepthwiseConvNHWC", .inputs = {x, w}};
  c.domain = kKilnDomain;
  c.attrs.set("height", int64_t(10));
  c.attrs.set("width", int64_t(9));
  c.attrs.set("strides", Dims{2, 2});
  c.attrs.set("auto_pad", std::string("SAME_UPPER"));
  c.attrs.set("kernel_shape", Dims{3, 3});
  Dims want_dims;
  auto want = reference(x, w, nullptr, 10, 9, {.kh = 3, .kw = 3, .strides = {2, 2}, .pads = {0, 1, 1, 1}}, want_dims);
  std::vector<Tensor> got = run_op(c);
  expect_dims(got.at(0), want_dims);
  expect_close(got[0], want, 1e-5, 1e-5);
}

TEST(DepthwiseConvNhwcOp, OtherFloatTypes) {
  check(2, 17, 9, 17, {}, true, DType::kF64, 7, 1e-12);
  // f16/bf16: float math, one rounding per output.
  check(1, 17, 33, 64, {}, true, DType::kF16, 8, 4e-3);
  check(2, 3, 17, 3, {.kh = 5, .kw = 5, .pads = {2, 2, 2, 2}}, false, DType::kBF16, 9, 2e-2);
}

TEST(DepthwiseConvNhwcOp, ModelErrors) {
  const Tensor x = random_tensor(DType::kF32, {1, 12, 4}, 1), w = random_tensor(DType::kF32, {4, 1, 3, 3}, 2);
  auto code = [&](const Tensor& xi, const Tensor& wi, const Tensor* b, int64_t h, int64_t wd, Geometry g = {}) {
    return error_code_of(call_of(xi, wi, b, h, wd, g));
  };
  EXPECT_EQ(code(x, w, nullptr, 3, 5), ErrorCode::kInvalidModel);  // 12 tokens, 3x5 image
  EXPECT_EQ(code(x, w, nullptr, 0, 12), ErrorCode::kInvalidModel);  // empty image
  EXPECT_EQ(code(x, random_tensor(DType::kF32, {4, 2, 3, 3}, 3), nullptr, 3, 4), ErrorCode::kInvalidModel);  // not depthwise
  EXPECT_EQ(code(x, random_tensor(DType::kF32, {8, 1, 3, 3}, 3), nullptr, 3, 4), ErrorCode::kInvalidModel);  // multiplier 2
  const Tensor b5 = random_tensor(DType::kF32, {5}, 4);
  EXPECT_EQ(code(x, w, &b5, 3, 4), ErrorCode::kInvalidModel);  // bias of 5 for 4 channels
  EXPECT_EQ(code(random_tensor(DType::kF32, {1, 3, 4, 4}, 5), w, nullptr, 3, 4), ErrorCode::kInvalidModel);  // NHWC rank 4
  EXPECT_EQ(code(x, w, nullptr, 1, 12, {.pads = {0, 0, 0, 0}}), ErrorCode::kInvalidModel);  // one row, 3-row window
  OpCall no_size{.op = "DepthwiseConvNHWC", .inputs = {x, w}};
  no_size.domain = kKilnDomain;
  EXPECT_EQ(error_code_of(no_size), ErrorCode::kInvalidModel);  // height and width missing
  EXPECT_EQ(code(x, w, nullptr, 3, 4), ErrorCode::kInternal);   // the valid call: no error at all
}

}  // namespace
}  // namespace kiln::test
