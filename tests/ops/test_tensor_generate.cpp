// Shape, Size, ConstantOfShape, Range, NonZero, Trilu, EyeLike, OneHot.
#include <cmath>
#include <limits>

#include "test_tensor_ref.h"

namespace kiln::test {
namespace {
using namespace tref;

TEST(TensorShape, StartEndWindows) {
  Tensor x(DType::kF32, {2, 3, 5, 7});
  expect_close(run_op({.op = "Shape", .inputs = {x}, .opset = 13})[0], {2, 3, 5, 7}, 0, 0);
  struct Case { int64_t start, end; std::vector<double> want; };
  for (const Case& c : {Case{1, 100, {3, 5, 7}}, Case{-1, 4, {7}}, Case{-100, -2, {2, 3}}, Case{3, 1, {}},
                        Case{0, -1, {2, 3, 5}}}) {
    auto out = run_op({.op = "Shape", .inputs = {x}, .attrs = attrs({{"start", c.start}, {"end", c.end}}), .opset = 15});
    EXPECT_EQ(out[0].dtype(), DType::kI64);
    expect_close(out[0], c.want, 0, 0);
  }
  // Opset 13 has no start/end.
  expect_close(run_op({.op = "Shape", .inputs = {x}, .attrs = attrs({{"start", int64_t(1)}}), .opset = 13})[0], {2, 3, 5, 7}, 0, 0);
  expect_shape(infer("Shape", {typed(DType::kF32, Shape{sym("B"), Dim(), Dim(3)})})[0], "3");
  expect_shape(infer("Shape", {typed(DType::kF32, std::nullopt)})[0], "?");
  expect_close(run_op({.op = "Shape", .inputs = {Tensor::scalar<bool>(true)}})[0], {}, 0, 0);
}

TEST(TensorSize, CountsElements) {
  auto out = run_op({.op = "Size", .inputs = {Tensor(DType::kU8, {3, 17, 2})}});
  expect_dims(out[0], {});
  expect_close(out[0], {102}, 0, 0);
  expect_close(run_op({.op = "Size", .inputs = {Tensor(DType::kF32, {3, 0})}})[0], {0}, 0, 0);
}

TEST(TensorConstantOfShape, ValueAttributeAndDefault) {
  auto out = run_op({.op = "ConstantOfShape", .inputs = {i64v({2, 3})}, .constant_inputs = {0}});
  EXPECT_EQ(out[0].dtype(), DType::kF32);
  expect_close(out[0], std::vector<double>(6, 0.0), 0, 0);
  for (Tensor v : {Tensor::from_vector<int64_t>({1}, {-7}), Tensor::from_vector<int32_t>({1}, {5}),
                   Tensor::from_vector<bool>({1}, {true}), Tensor::from_vector<double>({1}, {0.25})}) {
    auto o = run_op({.op = "ConstantOfShape", .inputs = {i64v({17, 1})}, .attrs = attrs({{"value", v}})});
    EXPECT_EQ(o[0].dtype(), v.dtype());
    expect_close(o[0], std::vector<double>(17, v.at_double(0)), 0, 0);
  }
  expect_dims(run_op({.op = "ConstantOfShape", .inputs = {i64({0}, {})}})[0], {});
  expect_error([&] { run_op({.op = "ConstantOfShape", .inputs = {i64v({2, -1})}}); }, ErrorCode::kInvalidModel);
  expect_shape(infer("ConstantOfShape", {typed(DType::kI64, Shape{Dim(3)})})[0], "?x?x?");
  EXPECT_FALSE(infer("ConstantOfShape", {typed(DType::kI64, Shape{Dim()})})[0].shape);
}

TEST(TensorRange, IntAndFloatCounts) {
  struct Case { double s, l, d; };
  for (const Case& c : {Case{0, 10, 3}, Case{10, 4, -2}, Case{1, 1, 1}, Case{5, 1, 1}, Case{-3, 17, 1}}) {
    std::vector<double> want;
    for (double v = c.s; c.d > 0 ? v < c.l : v > c.l; v += c.d) want.push_back(v);
    auto i = run_op({.op = "Range", .inputs = {Tensor::scalar<int64_t>(int64_t(c.s)), Tensor::scalar<int64_t>(int64_t(c.l)),
                                              Tensor::scalar<int64_t>(int64_t(c.d))}, .constant_inputs = {0, 1, 2}});
    expect_close(i[0], want, 0, 0);
    auto j = run_op({.op = "Range", .inputs = {Tensor::scalar<int32_t>(int32_t(c.s)), Tensor::scalar<int32_t>(int32_t(c.l)),
                                              Tensor::scalar<int32_t>(int32_t(c.d))}});
    expect_close(j[0], want, 0, 0);
  }
  auto f = run_op({.op = "Range", .inputs = {Tensor::scalar<float>(1.0f), Tensor::scalar<float>(2.0f),
                                            Tensor::scalar<float>(0.3f)}, .constant_inputs = {0, 1, 2}});
  expect_close(f[0], {1.0, 1.3, 1.6, 1.9}, 1e-6, 1e-6);
  expect_error([&] { run_op({.op = "Range", .inputs = {Tensor::scalar<int64_t>(0), Tensor::scalar<int64_t>(3),
                                                      Tensor::scalar<int64_t>(0)}}); }, ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Range", .inputs = {Tensor::scalar<uint8_t>(0), Tensor::scalar<uint8_t>(3),
                                                      Tensor::scalar<uint8_t>(1)}}); }, ErrorCode::kUnsupported);
  // Spans wider than int64 must not overflow.
  const int64_t big = std::numeric_limits<int64_t>::max();
  auto w = run_op({.op = "Range", .inputs = {Tensor::scalar<int64_t>(0), Tensor::scalar<int64_t>(big),
                                            Tensor::scalar<int64_t>(big / 2)}});
  EXPECT_EQ(w[0].to_int64_vector(), (std::vector<int64_t>{0, big / 2, 2 * (big / 2)}));
  expect_error([&] { run_op({.op = "Range", .inputs = {Tensor::scalar<int64_t>(-big), Tensor::scalar<int64_t>(big),
                                                      Tensor::scalar<int64_t>(1)}}); }, ErrorCode::kInvalidModel);
  expect_shape(infer("Range", {typed(DType::kF32, Shape{}), typed(DType::kF32, Shape{}), typed(DType::kF32, Shape{})})[0], "?");
}

TEST(TensorNonZero, IndicesInRowMajorOrder) {
  for (DType dt : {DType::kF32, DType::kF16, DType::kBool, DType::kI8}) {
    Tensor x = rnd(dt, {3, 4, 5}, 9);
    std::vector<double> v = to_doubles(x);
    std::vector<std::vector<double>> rows(3);
    for (int64_t i = 0; i < 60; ++i)
      if (v[size_t(i)] != 0)
        for (int a = 0; a < 3; ++a) rows[size_t(a)].push_back(double(unravel(i, x.dims())[size_t(a)]));
    std::vector<double> want;
    for (auto& r : rows) want.insert(want.end(), r.begin(), r.end());
    auto out = run_op({.op = "NonZero", .inputs = {x}});
    expect_dims(out[0], {3, int64_t(rows[0].size())});
    expect_close(out[0], want, 0, 0);
  }
  expect_shape(infer("NonZero", {typed(DType::kF32, Shape{Dim(2), sym("N")})})[0], "2x?");
}

TEST(TensorTrilu, UpperLowerWithK) {
  Tensor x = rnd(DType::kF32, {2, 5, 7}, 3);
  std::vector<double> v = to_doubles(x);
  for (int64_t upper : {0, 1})
    for (int64_t k : {-6, -2, 0, 1, 3, 9}) {
      auto out = run_op({.op = "Trilu", .inputs = {x, Tensor::scalar<int64_t>(k)}, .attrs = attrs({{"upper", upper}}), .opset = 14});
      expect_close(out[0], build(x.dims(), [&](const Dims& o) {
                     bool keep = upper ? o[2] - o[1] >= k : o[2] - o[1] <= k;
                     return keep ? v[size_t(ravel(o, x.dims()))] : 0.0;
                   }), 0, 0);
    }
  auto def = run_op({.op = "Trilu", .inputs = {x}, .opset = 14});
  expect_close(def[0], build(x.dims(), [&](const Dims& o) { return o[2] >= o[1] ? v[size_t(ravel(o, x.dims()))] : 0.0; }), 0, 0);
  expect_error([&] { run_op({.op = "Trilu", .inputs = {rnd(DType::kF32, {4}, 1)}}); }, ErrorCode::kInvalidModel);
}

TEST(TensorEyeLike, DtypeAndK) {
  Tensor x(DType::kI32, {3, 5});
  for (int64_t k : {-4, -1, 0, 2, 5}) {
    auto out = run_op({.op = "EyeLike", .inputs = {x}, .attrs = attrs({{"k", k}, {"dtype", int64_t(1)}})});
    EXPECT_EQ(out[0].dtype(), DType::kF32);
    expect_close(out[0], build({3, 5}, [&](const Dims& o) { return o[1] == o[0] + k ? 1.0 : 0.0; }), 0, 0);
  }
  EXPECT_EQ(run_op({.op = "EyeLike", .inputs = {x}})[0].dtype(), DType::kI32);
  expect_error([&] { run_op({.op = "EyeLike", .inputs = {Tensor(DType::kF32, {3})}}); }, ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "EyeLike", .inputs = {x}, .attrs = attrs({{"dtype", int64_t(8)}})}); }, ErrorCode::kUnsupported);
}

TEST(TensorOneHot, AxesNegativeAndOutOfRangeIndices) {
  Tensor idx = Tensor::from_vector<int64_t>({2, 3}, {0, 4, -1, -5, 5, 2});
  Tensor vals = Tensor::from_vector<float>({2}, {-1.5f, 3.0f});
  const int64_t depth = 5;
  for (int64_t axis : {-1, 0, 1, 2, -3}) {
    int a = int(axis < 0 ? axis + 3 : axis);
    Dims od{2, 3};
    od.insert(od.begin() + a, depth);
    for (Tensor d : {Tensor::scalar<int64_t>(depth), Tensor::from_vector<float>({1}, {5.0f})}) {
      auto out = run_op({.op = "OneHot", .inputs = {idx, d, vals}, .attrs = attrs({{"axis", axis}}), .constant_inputs = {1}});
      expect_dims(out[0], od);
      std::vector<int64_t> iv = idx.to_int64_vector();
      expect_close(out[0], build(od, [&](const Dims& o) {
                     Dims pos = o;
                     int64_t h = pos[size_t(a)];
                     pos.erase(pos.begin() + a);
                     int64_t k = iv[size_t(ravel(pos, {2, 3}))];
                     if (k < 0) k += depth;
                     return k == h ? 3.0 : -1.5;
                   }), 0, 0);
    }
  }
  expect_error([&] { run_op({.op = "OneHot", .inputs = {idx, Tensor::scalar<int64_t>(5), vals}, .attrs = attrs({{"axis", int64_t(3)}})}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "OneHot", .inputs = {idx, Tensor::scalar<int64_t>(0), vals}}); }, ErrorCode::kInvalidModel);
  expect_shape(infer("OneHot", {typed(DType::kI64, Shape{sym("N")}), typed(DType::kI64, Shape{}), typed(DType::kF32, Shape{Dim(2)})})[0], "Nx?");
}

}  // namespace
}  // namespace kiln::test
