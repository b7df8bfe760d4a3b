// Im2ColTokens (kiln domain) against the formula written out here, on awkward shapes: tokens
// with C = 1, 5, 16 and NCHW with C = 3; kernels 7 (stride 4, pads 3), 3 (stride 2, pads 1),
// 5x3; dilation 2; asymmetric pads; auto_pad; batch 1 and 2; f32, f16, bf16, f64.
#include "harness.h"
#include "ops/op.h"

namespace kiln::test {
namespace {

struct Window {
  int64_t kh = 3, kw = 3;
  Dims strides = {1, 1}, dilations = {1, 1}, pads = {1, 1, 1, 1};  // pads: top, left, bottom, right
};

// X tokens [B, H*W, C] (nchw false) or [B, C, H, W].
OpCall call_of(const Tensor& x, bool nchw, int64_t H, int64_t W, const Window& w) {
  OpCall c{.op = "Im2ColTokens", .inputs = {x}};
  c.domain = kKilnDomain;
  if (!nchw) {
    c.attrs.set("height", H);
    c.attrs.set("width", W);
  }
  c.attrs.set("kernel_shape", Dims{w.kh, w.kw});
  c.attrs.set("strides", w.strides);
  c.attrs.set("dilations", w.dilations);
  c.attrs.set("pads", w.pads);
  return c;
}

// Y[b, oy*OW + ox, (i*kw + j)*C + c] = X at (oy*sh - pt + i*dh, ox*sw - pl + j*dw), channel c; 0 outside.
std::vector<double> reference(const Tensor& x, bool nchw, int64_t H, int64_t W, const Window& w, Dims& out_dims) {
  const int64_t B = x.dim(0), C = nchw ? x.dim(1) : x.dim(2);
  const int64_t OH = (H + w.pads[0] + w.pads[2] - (w.kh - 1) * w.dilations[0] - 1) / w.strides[0] + 1;
  const int64_t OW = (W + w.pads[1] + w.pads[3] - (w.kw - 1) * w.dilations[1] - 1) / w.strides[1] + 1;
  const int64_t K = w.kh * w.kw * C;
  out_dims = {B, OH * OW, K};
  std::vector<double> y(size_t(B * OH * OW * K), -1234.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox)
        for (int64_t i = 0; i < w.kh; ++i)
          for (int64_t j = 0; j < w.kw; ++j)
            for (int64_t c = 0; c < C; ++c) {
              const int64_t ih = oy * w.strides[0] - w.pads[0] + i * w.dilations[0];
              const int64_t iw = ox * w.strides[1] - w.pads[1] + j * w.dilations[1];
              double v = 0;
              if (ih >= 0 && ih < H && iw >= 0 && iw < W)
                v = x.at_double(nchw ? ((b * C + c) * H + ih) * W + iw : (b * H * W + ih * W + iw) * C + c);
              y[size_t(((b * OH + oy) * OW + ox) * K + (i * w.kw + j) * C + c)] = v;
            }
  return y;
}

void check(int64_t B, int64_t H, int64_t W, int64_t C, bool nchw, const Window& w, DType dt, uint64_t seed) {
  SCOPED_TRACE(std::string(nchw ? "nchw" : "tokens") + " B " + std::to_string(B) + " H " + std::to_string(H) + " W " +
               std::to_string(W) + " C " + std::to_string(C) + " k " + std::to_string(w.kh) + "x" +
               std::to_string(w.kw) + " " + dtype_name(dt) + " seed " + std::to_string(seed));
  const Tensor x = random_tensor(dt, nchw ? Dims{B, C, H, W} : Dims{B, H * W, C}, seed);
  Dims want_dims;
  const std::vector<double> want = reference(x, nchw, H, W, w, want_dims);
  const std::vector<Tensor> got = run_op(call_of(x, nchw, H, W, w));
  expect_dims(got.at(0), want_dims);
  expect_close(got[0], want, 0, 0);  // a copy: exact
}

TEST(Im2ColTokensOp, PatchEmbeddings) {
  const Window k7s4{.kh = 7, .kw = 7, .strides = {4, 4}, .pads = {3, 3, 3, 3}};  // SegFormer stage 0
  const Window k3s2{.kh = 3, .kw = 3, .strides = {2, 2}};                           // stages 1-3
  check(1, 17, 23, 3, true, k7s4, DType::kF32, 1);
  check(2, 16, 16, 3, true, k7s4, DType::kF32, 2);
  check(2, 9, 13, 16, false, k7s4, DType::kF32, 3);
  check(1, 17, 15, 5, false, k3s2, DType::kF32, 4);
  check(2, 8, 8, 16, false, k3s2, DType::kF32, 5);
  check(2, 7, 9, 3, true, k3s2, DType::kF32, 6);
}

TEST(Im2ColTokensOp, AwkwardWindows) {
  uint64_t seed = 100;
  for (bool nchw : {false, true})
    for (int64_t C : {1, 3, 5, 16})
      for (Window w : {Window{.kh = 3, .kw = 3, .dilations = {2, 2}, .pads = {2, 2, 2, 2}},   // dilation 2
                       Window{.kh = 5, .kw = 3, .strides = {2, 3}, .pads = {0, 2, 3, 1}},     // asymmetric
                       Window{.kh = 2, .kw = 2, .strides = {2, 2}, .pads = {0, 0, 0, 0}},     // kernel = stride
                       Window{.kh = 1, .kw = 7, .strides = {1, 2}, .pads = {0, 3, 0, 3}},     // one row
                       Window{.kh = 3, .kw = 3, .strides = {4, 4}, .pads = {5, 5, 5, 5}}})  // pads past the reach
        for (Dims hw : {Dims{1, 9}, Dims{5, 7}, Dims{12, 11}}) {
          if (hw[0] + w.pads[0] + w.pads[2] < (w.kh - 1) * w.dilations[0] + 1) continue;  // no output row
          check(seed % 2 ? 2 : 1, hw[0], hw[1], C, nchw, w, DType::kF32, seed);
          ++seed;
          if (HasFatalFailure()) return;
        }
}

TEST(Im2ColTokensOp, AutoPad) {
  // SAME_UPPER at stride 2: 10 rows → 5 (pads 0, 1), 9 columns → 5 (pads 1, 1).
  const Tensor x = random_tensor(DType::kF32, {1, 10 * 9, 4}, 7);
  OpCall c = call_of(x, false, 10, 9, {.strides = {2, 2}});
  c.attrs = Attributes{};
  c.attrs.set("height", int64_t(10));
  c.attrs.set("width", int64_t(9));
  c.attrs.set("kernel_shape", Dims{3, 3});
  c.attrs.set("strides", Dims{2, 2});
  c.attrs.set("auto_pad", std::string("SAME_UPPER"));
  Dims want_dims;
  const auto want = reference(x, false, 10, 9, {.strides = {2, 2}, .pads = {0, 1, 1, 1}}, want_dims);
  const std::vector<Tensor> got = run_op(c);
  expect_dims(got.at(0), want_dims);
  expect_close(got[0], want, 0, 0);
}

TEST(Im2ColTokensOp, OtherFloatTypes) {
  const Window k3s2{.kh = 3, .kw = 3, .strides = {2, 2}};
  check(2, 9, 7, 5, false, k3s2, DType::kF16, 8);
  check(1, 9, 7, 3, true, {.kh = 7, .kw = 7, .strides = {4, 4}, .pads = {3, 3, 3, 3}}, DType::kF16, 9);
  check(1, 6, 5, 16, false, k3s2, DType::kBF16, 10);
  check(2, 6, 5, 3, true, k3s2, DType::kF64, 11);
}

TEST(Im2ColTokensOp, ModelErrors) {
  const Tensor x = random_tensor(DType::kF32, {1, 12, 4}, 1);
  EXPECT_EQ(error_code_of(call_of(x, false, 3, 5, {})), ErrorCode::kInvalidModel);  // 12 tokens, 3x5 image
  EXPECT_EQ(error_code_of(call_of(x, false, 0, 12, {})), ErrorCode::kInvalidModel);  // empty image
  EXPECT_EQ(error_code_of(call_of(x, true, 3, 4, {})), ErrorCode::kInvalidModel);    // tokens without height/width
  OpCall sized = call_of(random_tensor(DType::kF32, {1, 4, 3, 4}, 2), false, 3, 4, {});
  EXPECT_EQ(error_code_of(sized), ErrorCode::kInvalidModel);  // an NCHW image with height/width too
  OpCall no_kernel = call_of(x, false, 3, 4, {});
  no_kernel.attrs = Attributes{};
  no_kernel.attrs.set("height", int64_t(3));
  no_kernel.attrs.set("width", int64_t(4));
  EXPECT_EQ(error_code_of(no_kernel), ErrorCode::kInvalidModel);  // no kernel_shape
  EXPECT_EQ(error_code_of(call_of(random_tensor(DType::kF32, {12, 4}, 3), false, 3, 4, {})),
            ErrorCode::kInvalidModel);  // rank 2
  EXPECT_EQ(error_code_of(call_of(x, false, 1, 12, {.pads = {0, 0, 0, 0}})), ErrorCode::kInvalidModel);  // 3-row window, 1 row
  EXPECT_EQ(error_code_of(call_of(x, false, 3, 4, {})), ErrorCode::kInternal);  // the valid call: no error at all
}

}  // namespace
}  // namespace kiln::test
