// Reshape, Squeeze, Unsqueeze, Flatten, Identity, Dropout: dims, data order, inference with
// and without constant inputs, and model errors.
#include "test_tensor_ref.h"

namespace kiln::test {
namespace {
using namespace tref;

TEST(TensorReshape, MinusOneZeroAndAllowzero) {
  Tensor x = rnd(DType::kF32, {2, 3, 17}, 1);
  std::vector<double> v = to_doubles(x);
  struct Case { std::vector<int64_t> shape; Dims want; int64_t allowzero; };
  for (const Case& c : {Case{{-1}, {102}, 0}, Case{{0, -1}, {2, 51}, 0}, Case{{17, 0, 2}, {17, 3, 2}, 0},
                        Case{{-1, 17}, {6, 17}, 0}, Case{{1, 2, 1, 51}, {1, 2, 1, 51}, 1}}) {
    for (int opset : {13, 14, 19}) {
      if (c.allowzero && opset < 14) continue;
      auto out = run_op({.op = "Reshape", .inputs = {x, i64v(c.shape)},
                         .attrs = attrs({{"allowzero", c.allowzero}}), .opset = opset, .constant_inputs = {1}});
      expect_dims(out[0], c.want);
      expect_close(out[0], v, 0, 0);
    }
  }
  // allowzero: 0 means an empty dim, not a copy.
  Tensor e(DType::kF32, {0, 3});
  auto out = run_op({.op = "Reshape", .inputs = {e, i64v({3, 0})}, .attrs = attrs({{"allowzero", int64_t(1)}}),
                     .opset = 14, .constant_inputs = {1}});
  expect_dims(out[0], {3, 0});
}

TEST(TensorReshape, Errors) {
  Tensor x = rnd(DType::kF32, {2, 3}, 1);
  for (auto bad : {std::vector<int64_t>{-1, -1}, {4, 2}, {-2, 3}, {0, 0, 0}, {-1, 4}})
    expect_error([&] { run_op({.op = "Reshape", .inputs = {x, i64v(bad)}, .constant_inputs = {1}}); },
                 ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Reshape", .inputs = {x, i64v({0, -1})}, .attrs = attrs({{"allowzero", int64_t(1)}}),
                             .opset = 14, .constant_inputs = {1}}); },
               ErrorCode::kInvalidModel);
  // Runtime check without constant shape.
  expect_error([&] { run_op({.op = "Reshape", .inputs = {x, i64v({5})}}); }, ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Reshape", .inputs = {x, Tensor::from_vector<int32_t>({1}, {6})}}); },
               ErrorCode::kUnsupported);
}

TEST(TensorReshape, InferSymbolicAndNonConstant) {
  Value x = typed(DType::kF16, Shape{sym("B"), Dim(64), sym("HW")});
  expect_shape(infer("Reshape", {x, constant(i64v({0, -1}))})[0], "Bx?");
  expect_shape(infer("Reshape", {x, constant(i64v({0, 0, 8, 8}))})[0], "Bx64x8x8");
  // Symbols cancel: [B, 64, HW] -> [B, 64, -1] gives HW.
  expect_shape(infer("Reshape", {x, constant(i64v({0, 0, -1}))})[0], "Bx64xHW");
  expect_shape(infer("Reshape", {x, constant(i64v({0, 8, 8, -1}))})[0], "Bx8x8xHW");
  Value y = typed(DType::kF32, Shape{sym("B"), Dim(64), sym("HW")});
  expect_shape(infer("Reshape", {y, constant(i64v({0, -1, 8}))})[0], "Bx?x8");
  Value z = typed(DType::kF32, Shape{sym("B"), sym("HW"), Dim(64)});
  expect_shape(infer("Reshape", {z, constant(i64v({0, 0, -1, 16}))})[0], "BxHWx4x16");
  // Shape not constant: rank from its length, dims unknown; unknown length: unknown rank.
  expect_shape(infer("Reshape", {x, typed(DType::kI64, Shape{Dim(3)})})[0], "?x?x?");
  EXPECT_FALSE(infer("Reshape", {x, typed(DType::kI64, Shape{Dim()})})[0].shape.has_value());
  EXPECT_FALSE(infer("Reshape", {typed(DType::kF32, std::nullopt), typed(DType::kI64, std::nullopt)})[0].shape);
  expect_shape(infer("Reshape", {typed(DType::kF32, std::nullopt), constant(i64v({2, -1}))})[0], "2x?");
}

TEST(TensorSqueeze, AxesInputAndDefault) {
  Tensor x = rnd(DType::kI32, {1, 3, 1, 17, 1}, 2);
  std::vector<double> v = to_doubles(x);
  auto a = run_op({.op = "Squeeze", .inputs = {x, i64v({0, -1})}, .opset = 13, .constant_inputs = {1}});
  expect_dims(a[0], {3, 1, 17});
  expect_close(a[0], v, 0, 0);
  auto b = run_op({.op = "Squeeze", .inputs = {x}, .opset = 13});
  expect_dims(b[0], {3, 17});
  auto c = run_op({.op = "Squeeze", .inputs = {x, i64v({2})}, .opset = 20});  // non-constant axes
  expect_dims(c[0], {1, 3, 17, 1});
  expect_error([&] { run_op({.op = "Squeeze", .inputs = {x, i64v({1})}, .constant_inputs = {1}}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Squeeze", .inputs = {x, i64v({5})}}); }, ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Squeeze", .inputs = {x, i64v({0, -5})}}); }, ErrorCode::kInvalidModel);
}

TEST(TensorSqueeze, Infer) {
  Value x = typed(DType::kF32, Shape{Dim(1), sym("N"), Dim(1)});
  expect_shape(infer("Squeeze", {x, constant(i64v({0}))})[0], "Nx1");
  expect_shape(infer("Squeeze", {x, typed(DType::kI64, Shape{Dim(2)})})[0], "?");
  EXPECT_FALSE(infer("Squeeze", {x})[0].shape.has_value());  // is N 1? unknown rank
  expect_shape(infer("Squeeze", {typed(DType::kF32, Shape{Dim(1), Dim(4)})})[0], "4");
}

TEST(TensorUnsqueeze, AxesIncludingNegativeAndUnsorted) {
  Tensor x = rnd(DType::kBool, {3, 17}, 4);
  struct Case { std::vector<int64_t> axes; Dims want; };
  for (const Case& c : {Case{{0}, {1, 3, 17}}, Case{{-1}, {3, 17, 1}}, Case{{3, 0}, {1, 3, 17, 1}},
                        Case{{1, 3}, {3, 1, 17, 1}}, Case{{-4, 2}, {1, 3, 1, 17}}}) {
    auto out = run_op({.op = "Unsqueeze", .inputs = {x, i64v(c.axes)}, .opset = 13, .constant_inputs = {1}});
    expect_dims(out[0], c.want);
    expect_close(out[0], to_doubles(x), 0, 0);
  }
  expect_error([&] { run_op({.op = "Unsqueeze", .inputs = {x, i64v({0, 0})}}); }, ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Unsqueeze", .inputs = {x, i64v({3})}}); }, ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Unsqueeze", .inputs = {x}}); }, ErrorCode::kInvalidModel);
  expect_shape(infer("Unsqueeze", {typed(DType::kF32, Shape{sym("N")}), constant(i64v({0, 2}))})[0], "1xNx1");
  expect_shape(infer("Unsqueeze", {typed(DType::kF32, Shape{sym("N")}), typed(DType::kI64, Shape{Dim(1)})})[0], "?x?");
}

TEST(TensorFlatten, EveryAxis) {
  Tensor x = rnd(DType::kF64, {2, 3, 5}, 6);
  const Dims want[] = {{1, 30}, {2, 15}, {6, 5}, {30, 1}};
  for (int64_t axis = -3; axis <= 3; ++axis) {
    auto out = run_op({.op = "Flatten", .inputs = {x}, .attrs = attrs({{"axis", axis}})});
    expect_dims(out[0], want[axis < 0 ? axis + 3 : axis]);
    expect_close(out[0], to_doubles(x), 0, 0);
  }
  expect_dims(run_op({.op = "Flatten", .inputs = {x}})[0], {2, 15});
  expect_error([&] { run_op({.op = "Flatten", .inputs = {x}, .attrs = attrs({{"axis", int64_t(4)}})}); },
               ErrorCode::kInvalidModel);
  expect_shape(infer("Flatten", {typed(DType::kF32, Shape{sym("B"), Dim(3), Dim(4)})})[0], "Bx12");
  expect_shape(infer("Flatten", {typed(DType::kF32, Shape{sym("B"), sym("C"), Dim(4)})})[0], "Bx?");
}

TEST(TensorIdentityDropout, PassThroughAndMask) {
  Tensor x = rnd(DType::kF16, {3, 17}, 7);
  expect_close(run_op({.op = "Identity", .inputs = {x}})[0], to_doubles(x), 0, 0);
  auto d = run_op({.op = "Dropout", .inputs = {x, Tensor::scalar<float>(0.3f)}, .num_outputs = 2});
  expect_close(d[0], to_doubles(x), 0, 0);
  EXPECT_EQ(d[1].dtype(), DType::kBool);
  expect_close(d[1], std::vector<double>(51, 1.0), 0, 0);
  // Training mode is deterministic only with ratio 0.
  auto z = run_op({.op = "Dropout", .inputs = {x, Tensor::scalar<float>(0.0f), Tensor::scalar<bool>(true)},
                   .num_outputs = 2});
  expect_close(z[0], to_doubles(x), 0, 0);
  expect_error([&] { run_op({.op = "Dropout", .inputs = {x, Tensor::scalar<float>(0.5f), Tensor::scalar<bool>(true)}}); },
               ErrorCode::kUnsupported);
  expect_error([&] { run_op({.op = "Dropout", .inputs = {x, Tensor(), Tensor::scalar<bool>(true)}, .constant_inputs = {2}}); },
               ErrorCode::kUnsupported);
  expect_error([&] { run_op({.op = "Dropout", .inputs = {rnd(DType::kI32, {2}, 1)}}); }, ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace kiln::test
