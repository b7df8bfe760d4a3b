// ConvTranspose against a naive double-precision scatter reference.
#include "test_conv_ref.h"

namespace kiln::test {
namespace {

using convref::attrs_of;

struct TCase {
  Dims x, w;
  int64_t group = 1;
  Dims s = {}, d = {}, pads = {}, output_padding = {};
  bool bias = true;
};

void check_transpose(const TCase& c, DType dt = DType::kF32, uint64_t seed = 1, double tol = 1e-4) {
  const size_t n = c.x.size() - 2;
  Dims s = c.s.empty() ? Dims(n, 1) : c.s, d = c.d.empty() ? Dims(n, 1) : c.d;
  Dims pads = c.pads.empty() ? Dims(2 * n, 0) : c.pads;
  Dims op = c.output_padding.empty() ? Dims(n, 0) : c.output_padding;
  Tensor X = random_tensor(dt, c.x, seed);
  Tensor W = random_tensor(dt, c.w, seed + 1);
  const int64_t M = c.w[1] * c.group;
  Tensor B = c.bias ? random_tensor(dt, {M}, seed + 2) : Tensor();
  Dims out(n);
  for (size_t a = 0; a < n; ++a)
    out[a] = s[a] * (c.x[2 + a] - 1) + op[a] + (c.w[2 + a] - 1) * d[a] + 1 - pads[a] - pads[a + n];
  Attributes at = attrs_of({{"group", c.group}, {"strides", s}, {"dilations", d}, {"pads", pads},
                            {"output_padding", op}});
  std::vector<Tensor> inputs = {X, W};
  if (c.bias) inputs.push_back(B);
  auto got = convref::run("ConvTranspose", inputs, at);
  Dims want_dims = {c.x[0], M};
  want_dims.insert(want_dims.end(), out.begin(), out.end());
  expect_dims(got[0], want_dims);
  expect_close(got[0], convref::conv_transpose(X, W, c.bias ? &B : nullptr, c.group, s, d, pads, out),
               tol, tol);
}

TEST(ConvTransposeOp, Conv2dVariants) {
  check_transpose({.x = {2, 4, 5, 6}, .w = {4, 3, 3, 2}, .s = {2, 3}, .d = {1, 2},
                   .pads = {1, 0, 0, 2}, .output_padding = {1, 0}});
  check_transpose({.x = {1, 4, 5, 5}, .w = {4, 3, 3, 3}, .group = 2, .s = {2, 2},
                   .pads = {1, 1, 1, 1}, .bias = false});
  check_transpose({.x = {1, 6, 7, 4}, .w = {6, 1, 4, 4}, .group = 6, .s = {2, 2},
                   .pads = {1, 1, 1, 1}});  // depthwise upsampling
  check_transpose({.x = {1, 3, 4, 5}, .w = {3, 2, 2, 2}, .s = {2, 2}});  // kernel == stride
}

TEST(ConvTransposeOp, Conv1dAnd3dAndTypes) {
  check_transpose({.x = {2, 3, 17}, .w = {3, 2, 4}, .s = {3}, .pads = {2, 1}});
  check_transpose({.x = {1, 2, 3, 4, 3}, .w = {2, 2, 2, 3, 2}, .s = {2, 1, 2}, .d = {1, 2, 1},
                   .pads = {0, 1, 0, 1, 0, 1}});
  check_transpose({.x = {2, 4, 5, 3}, .w = {4, 1, 3, 3}, .group = 2, .s = {2, 1}}, DType::kF64, 3,
                  1e-12);
  check_transpose({.x = {1, 3, 5, 4}, .w = {3, 2, 3, 3}, .s = {2, 2}, .pads = {1, 1, 1, 1}},
                  DType::kF16, 4, 1e-2);
}

// output_shape and SAME auto_pad fix the output extent; the pads follow from it.
TEST(ConvTransposeOp, OutputShapeAndAutoPad) {
  Tensor X = random_tensor(DType::kF32, {1, 1, 3, 3}, 5);
  Tensor W = random_tensor(DType::kF32, {1, 2, 3, 3}, 6);
  // Full extent H 3*2+3 = 9, W 2*2+3 = 7; output_shape 10x8: total padding -1 on both axes,
  // which (floor division) grows the output at the end.
  for (Dims os : {Dims{10, 8}, Dims{1, 2, 10, 8}}) {
    auto got = convref::run("ConvTranspose", {X, W},
                            attrs_of({{"strides", Dims{3, 2}}, {"output_shape", os}}));
    expect_dims(got[0], {1, 2, 10, 8});
    expect_close(got[0],
                 convref::conv_transpose(X, W, nullptr, 1, {3, 2}, {1, 1}, {0, 0, -1, -1}, {10, 8}));
  }
  // output_shape smaller than the full extent: total 9 - 7 = 2 and 7 - 6 = 1 (odd: extra at start).
  auto small = convref::run("ConvTranspose", {X, W},
                            attrs_of({{"strides", Dims{3, 2}}, {"output_shape", Dims{7, 6}}}));
  expect_close(small[0], convref::conv_transpose(X, W, nullptr, 1, {3, 2}, {1, 1}, {1, 1, 1, 0}, {7, 6}));
  // SAME: output = input * stride = 6; total 7 - 6 = 1.
  auto up = convref::run("ConvTranspose", {X, W},
                         attrs_of({{"strides", Dims{2, 2}}, {"auto_pad", std::string("SAME_UPPER")}}));
  expect_dims(up[0], {1, 2, 6, 6});
  expect_close(up[0], convref::conv_transpose(X, W, nullptr, 1, {2, 2}, {1, 1}, {0, 0, 1, 1}, {6, 6}));
  auto low = convref::run("ConvTranspose", {X, W},
                          attrs_of({{"strides", Dims{2, 2}}, {"auto_pad", std::string("SAME_LOWER")}}));
  expect_close(low[0], convref::conv_transpose(X, W, nullptr, 1, {2, 2}, {1, 1}, {1, 1, 0, 0}, {6, 6}));
  auto valid = convref::run("ConvTranspose", {X, W},
                            attrs_of({{"strides", Dims{2, 2}}, {"auto_pad", std::string("VALID")},
                                      {"pads", Dims{1, 1, 1, 1}}}));
  expect_dims(valid[0], {1, 2, 7, 7});
}

TEST(ConvTransposeOp, Errors) {
  Tensor X = random_tensor(DType::kF32, {1, 4, 5, 5}, 1);
  Tensor W = random_tensor(DType::kF32, {3, 2, 3, 3}, 2);
  EXPECT_EQ(convref::error_code("ConvTranspose", {X, W}), ErrorCode::kInvalidModel);
  Tensor W4 = random_tensor(DType::kF32, {4, 2, 3, 3}, 2);
  Tensor B = random_tensor(DType::kF32, {3}, 3);
  EXPECT_EQ(convref::error_code("ConvTranspose", {X, W4, B}), ErrorCode::kInvalidModel);
  EXPECT_EQ(convref::error_code("ConvTranspose", {X, W4}, attrs_of({{"group", int64_t(3)}})),
            ErrorCode::kInvalidModel);
  EXPECT_EQ(convref::error_code("ConvTranspose", {X, W4}, attrs_of({{"output_shape", Dims{9}}})),
            ErrorCode::kInvalidModel);
  EXPECT_EQ(convref::error_code("ConvTranspose", {X, W4}, attrs_of({{"pads", Dims{4, 4, 4, 4}}})),
            ErrorCode::kInvalidModel);
  Tensor Xi = random_tensor(DType::kI64, {1, 4, 5, 5}, 1);
  Tensor Wi = random_tensor(DType::kI64, {4, 2, 3, 3}, 1);
  EXPECT_EQ(convref::error_code("ConvTranspose", {Xi, Wi}), ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace kiln::test
