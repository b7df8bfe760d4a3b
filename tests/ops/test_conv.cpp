// Conv against a naive double-precision direct convolution on awkward shapes.
#include "test_conv_ref.h"

namespace kiln::test {
namespace {

using convref::attrs_of;

struct ConvCase {
  Dims x, w;
  int64_t group = 1;
  Dims s = {}, d = {}, pads = {};  // explicit geometry (empty: defaults)
  bool bias = true;
};

// Runs Conv with explicit attributes and compares with the reference.
void check_conv(const ConvCase& c, DType dt = DType::kF32, uint64_t seed = 1, double tol = 1e-4,
                bool pass_kernel_shape = false) {
  const size_t n = c.x.size() - 2;
  Dims s = c.s.empty() ? Dims(n, 1) : c.s, d = c.d.empty() ? Dims(n, 1) : c.d;
  Dims pads = c.pads.empty() ? Dims(2 * n, 0) : c.pads;
  Tensor X = random_tensor(dt, c.x, seed);
  Tensor W = random_tensor(dt, c.w, seed + 1);
  Tensor B = c.bias ? random_tensor(dt, {c.w[0]}, seed + 2) : Tensor();
  Attributes a = attrs_of({{"group", c.group}, {"strides", s}, {"dilations", d}, {"pads", pads}});
  if (pass_kernel_shape) a.set("kernel_shape", Dims(c.w.begin() + 2, c.w.end()));
  std::vector<Tensor> inputs = {X, W};
  if (c.bias) inputs.push_back(B);
  auto out = convref::run("Conv", inputs, a);
  Dims want_dims;
  auto want = convref::conv(X, W, c.bias ? &B : nullptr, c.group, s, d, pads, want_dims);
  expect_dims(out[0], want_dims);
  expect_close(out[0], want, tol, tol);
}

TEST(ConvOp, Conv2dStridesDilationsAsymmetricPads) {
  check_conv({.x = {2, 3, 17, 13}, .w = {5, 3, 3, 2}, .s = {2, 1}, .d = {1, 2}, .pads = {1, 0, 2, 1}});
  check_conv({.x = {1, 4, 9, 10}, .w = {7, 4, 4, 3}, .s = {3, 2}, .d = {2, 1}, .pads = {0, 3, 1, 2},
              .bias = false},
             DType::kF32, 7, 1e-4, true);
}

TEST(ConvOp, Conv1dAnd3d) {
  check_conv({.x = {2, 3, 1025}, .w = {4, 3, 5}, .s = {3}, .d = {2}, .pads = {2, 1}});
  check_conv({.x = {1, 1, 1}, .w = {1, 1, 1}});
  check_conv({.x = {2, 2, 5, 7, 6}, .w = {3, 2, 2, 3, 3}, .s = {1, 2, 1}, .d = {2, 1, 1},
              .pads = {1, 0, 1, 0, 2, 1}});
}

TEST(ConvOp, GroupsDepthwiseAndMultiplier) {
  check_conv({.x = {2, 6, 11, 9}, .w = {9, 2, 3, 3}, .group = 3, .pads = {1, 1, 1, 1}});
  // Depthwise (direct loop), stride 1 and 2, dilation, asymmetric pads.
  check_conv({.x = {2, 8, 17, 19}, .w = {8, 1, 3, 3}, .group = 8, .pads = {1, 1, 1, 1}});
  check_conv({.x = {1, 5, 16, 15}, .w = {5, 1, 3, 5}, .group = 5, .s = {2, 3}, .d = {2, 1},
              .pads = {0, 2, 3, 1}});
  // Channel multiplier 2 (C/group == 1, M/group == 2), 1-D and 3-D depthwise.
  check_conv({.x = {1, 4, 13, 12}, .w = {8, 1, 3, 3}, .group = 4, .pads = {1, 0, 0, 1}});
  check_conv({.x = {2, 3, 31}, .w = {3, 1, 4}, .group = 3, .s = {2}, .pads = {3, 0}});
  check_conv({.x = {1, 3, 4, 5, 6}, .w = {3, 1, 2, 3, 3}, .group = 3, .pads = {0, 1, 1, 1, 1, 0}});
}

TEST(ConvOp, PointwiseAndChunkedIm2col) {
  check_conv({.x = {2, 17, 13, 11}, .w = {9, 17, 1, 1}});                  // direct GEMM
  check_conv({.x = {1, 17, 13, 11}, .w = {9, 17, 1, 1}, .s = {2, 2}});     // strided 1x1
  check_conv({.x = {1, 5, 7, 6}, .w = {3, 5, 1, 1}, .pads = {1, 0, 0, 2}});  // padded 1x1
  // K * P > the im2col budget: several column chunks, not aligned to output rows.
  check_conv({.x = {1, 64, 67, 63}, .w = {2, 64, 3, 3}, .pads = {1, 1, 1, 1}}, DType::kF32, 3,
             1e-3);
  // SegFormer-like: kernel == stride spatial reduction, 7x7 stride-4 patch embedding.
  check_conv({.x = {1, 8, 32, 32}, .w = {8, 8, 8, 8}, .s = {8, 8}}, DType::kF32, 4, 1e-3);
  check_conv({.x = {1, 3, 37, 35}, .w = {6, 3, 7, 7}, .s = {4, 4}, .pads = {3, 3, 3, 3}});
}

TEST(ConvOp, OtherFloatTypes) {
  check_conv({.x = {2, 4, 9, 7}, .w = {6, 2, 3, 2}, .group = 2, .s = {2, 1}, .pads = {1, 0, 1, 1}},
             DType::kF64, 5, 1e-12);
  check_conv({.x = {2, 6, 9, 7}, .w = {6, 1, 3, 3}, .group = 6, .pads = {1, 1, 1, 1}}, DType::kF64,
             6, 1e-12);
  // f16/bf16 compute in float and round once: error is a few output ulps.
  check_conv({.x = {1, 3, 8, 9}, .w = {4, 3, 3, 3}, .pads = {1, 1, 1, 1}}, DType::kF16, 8, 1e-2);
  check_conv({.x = {1, 3, 8, 9}, .w = {4, 3, 3, 3}, .pads = {1, 1, 1, 1}}, DType::kBF16, 9, 4e-2);
}

// auto_pad resolves to explicit pads; checked against the reference with those pads.
TEST(ConvOp, AutoPad) {
  Tensor X = random_tensor(DType::kF32, {2, 3, 10, 9}, 11);
  Tensor W = random_tensor(DType::kF32, {4, 3, 3, 4}, 12);
  struct Want { const char* mode; Dims pads; Dims out; };
  // H: in 10, s 3, k 3, d 1 -> out 4, total 2. W: in 9, s 2, k 4, d 2 (extent 7) -> out 5,
  // total 6. VALID: H (10-3)/3+1 = 3, W (9-7)/2+1 = 2.
  for (const Want& want : {Want{"SAME_UPPER", {1, 3, 1, 3}, {2, 4, 4, 5}},
                           Want{"SAME_LOWER", {1, 3, 1, 3}, {2, 4, 4, 5}},
                           Want{"VALID", {0, 0, 0, 0}, {2, 4, 3, 2}}}) {
    Attributes a = attrs_of({{"auto_pad", std::string(want.mode)}, {"strides", Dims{3, 2}},
                             {"dilations", Dims{1, 2}}});
    auto out = convref::run("Conv", {X, W}, a);
    Dims dims;
    auto ref = convref::conv(X, W, nullptr, 1, {3, 2}, {1, 2}, want.pads, dims);
    expect_dims(out[0], want.out);
    expect_close(out[0], ref, 1e-4, 1e-4);
  }
  // Odd total padding: SAME_UPPER puts the extra at the end, SAME_LOWER at the start.
  Tensor x = Tensor::from_vector<float>({1, 1, 4}, {1, 2, 3, 4});
  Tensor w = Tensor::from_vector<float>({1, 1, 2}, {1, 1});
  auto up = convref::run("Conv", {x, w}, attrs_of({{"auto_pad", std::string("SAME_UPPER")}}));
  expect_close(up[0], {3, 5, 7, 4});
  auto low = convref::run("Conv", {x, w}, attrs_of({{"auto_pad", std::string("SAME_LOWER")}}));
  expect_close(low[0], {1, 3, 5, 7});
}

TEST(ConvOp, InferenceWithUnknownDims) {
  Tensor X = random_tensor(DType::kF32, {1, 3, 8, 8}, 1);
  Tensor W = random_tensor(DType::kF32, {4, 3, 3, 3}, 2);
  OpCall call;
  call.op = "Conv";
  call.inputs = {X, W};
  call.attrs = attrs_of({{"strides", Dims{2, 2}}, {"pads", Dims{1, 1, 1, 1}}});
  auto types = infer_op(call);
  ASSERT_TRUE(types[0].shape.has_value());
  EXPECT_EQ(shape_to_string(*types[0].shape), "1x4x4x4");
}

TEST(ConvOp, Errors) {
  Tensor X = random_tensor(DType::kF32, {1, 4, 8, 8}, 1);
  Tensor W = random_tensor(DType::kF32, {4, 3, 3, 3}, 2);

  EXPECT_EQ(convref::error_code("Conv", {X, W}), ErrorCode::kInvalidModel);  // 4 vs 3 channels
  Tensor W4 = random_tensor(DType::kF32, {4, 4, 3, 3}, 2);
  EXPECT_EQ(convref::error_code("Conv", {X, W4}, attrs_of({{"group", int64_t(3)}})),
            ErrorCode::kInvalidModel);
  EXPECT_EQ(convref::error_code("Conv", {X, W4}, attrs_of({{"kernel_shape", Dims{3, 2}}})),
            ErrorCode::kInvalidModel);
  EXPECT_EQ(convref::error_code("Conv", {X, W4}, attrs_of({{"strides", Dims{1}}})),
            ErrorCode::kInvalidModel);
  EXPECT_EQ(convref::error_code("Conv", {X, W4}, attrs_of({{"auto_pad", std::string("SAME")}})),
            ErrorCode::kInvalidModel);
  Tensor Xbig = random_tensor(DType::kF32, {1, 4, 2, 2}, 1);
  EXPECT_EQ(convref::error_code("Conv", {Xbig, W4}), ErrorCode::kInvalidModel);  // 3x3 > 2x2
  Tensor Xi = random_tensor(DType::kI32, {1, 4, 8, 8}, 1);
  Tensor Wi = random_tensor(DType::kI32, {4, 4, 3, 3}, 2);
  EXPECT_EQ(convref::error_code("Conv", {Xi, Wi}), ErrorCode::kUnsupported);
  Tensor X4 = random_tensor(DType::kF32, {1, 1, 2, 2, 2, 2}, 1);
  Tensor W5 = random_tensor(DType::kF32, {1, 1, 1, 1, 1, 1}, 1);
  EXPECT_EQ(convref::error_code("Conv", {X4, W5}), ErrorCode::kUnsupported);
  Tensor Bbad = random_tensor(DType::kF32, {3}, 1);
  EXPECT_EQ(convref::error_code("Conv", {X, W4, Bbad}), ErrorCode::kInvalidModel);
}

}  // namespace
}  // namespace kiln::test
