// Gather, GatherElements, GatherND, ScatterElements, ScatterND against naive references.
#include <algorithm>

#include "test_tensor_ref.h"

namespace kiln::test {
namespace {
using namespace tref;

TEST(TensorGather, AxesIndexShapesAndNegativeIndices) {
  for (DType dt : kEveryType) {
    Tensor x = rnd(dt, {3, 17, 4}, 1);
    std::vector<double> v = to_doubles(x);
    for (int64_t axis = -3; axis < 3; ++axis) {
      int a = int(axis < 0 ? axis + 3 : axis);
      int64_t d = x.dim(a);
      Tensor idx = i64({2, 3}, {0, d - 1, -1, -d, 1 % d, 2 % d});
      std::vector<int64_t> iv = idx.to_int64_vector();
      auto out = run_op({.op = "Gather", .inputs = {x, idx}, .attrs = attrs({{"axis", axis}})});
      Dims od(x.dims().begin(), x.dims().begin() + a);
      od.insert(od.end(), {2, 3});
      od.insert(od.end(), x.dims().begin() + a + 1, x.dims().end());
      expect_close(out[0], build(od, [&](const Dims& o) {
                     Dims in(o.begin(), o.begin() + a);
                     int64_t k = iv[size_t(o[size_t(a)] * 3 + o[size_t(a) + 1])];
                     in.push_back(k < 0 ? k + d : k);
                     in.insert(in.end(), o.begin() + a + 2, o.end());
                     return v[size_t(ravel(in, x.dims()))];
                   }), 0, 0);
    }
  }
}

TEST(TensorGather, ScalarIndexInt32AndLargeRows) {
  Tensor shape = i64v({1, 64, 128, 128});
  auto s = run_op({.op = "Gather", .inputs = {shape, Tensor::scalar<int64_t>(-2)}, .constant_inputs = {1}});
  expect_dims(s[0], {});
  expect_close(s[0], {128}, 0, 0);
  Tensor x = rnd(DType::kF32, {1025, 256}, 2);
  std::vector<double> v = to_doubles(x);
  std::vector<int32_t> iv;
  for (int i = 0; i < 999; ++i) iv.push_back((i * 37) % 1025 - 512);
  auto out = run_op({.op = "Gather", .inputs = {x, Tensor::from_vector<int32_t>({999}, iv)}});
  expect_close(out[0], build({999, 256}, [&](const Dims& o) {
                 int64_t k = iv[size_t(o[0])];
                 return v[size_t((k < 0 ? k + 1025 : k) * 256 + o[1])];
               }), 0, 0);
}

TEST(TensorGather, Errors) {
  Tensor x = rnd(DType::kF32, {3, 4}, 1);
  expect_error([&] { run_op({.op = "Gather", .inputs = {x, i64v({3})}}); }, ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Gather", .inputs = {x, i64v({-4})}}); }, ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Gather", .inputs = {x, i64v({0})}, .attrs = attrs({{"axis", int64_t(2)}})}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Gather", .inputs = {x, Tensor::from_vector<float>({1}, {0.f})}}); },
               ErrorCode::kUnsupported);
  expect_shape(infer("Gather", {typed(DType::kF32, Shape{sym("B"), Dim(3), sym("C")}), typed(DType::kI64, Shape{Dim(5)})},
                     attrs({{"axis", int64_t(1)}}))[0], "Bx5xC");
}

TEST(TensorGatherElements, EveryAxisWithSmallerIndices) {
  Tensor x = rnd(DType::kF16, {4, 17, 3}, 3);
  std::vector<double> v = to_doubles(x);
  for (int axis = 0; axis < 3; ++axis) {
    Dims idims{3, 5, 2};
    int64_t d = x.dim(axis);
    std::vector<int64_t> iv;
    for (int i = 0; i < 30; ++i) iv.push_back((i * 7) % (2 * d) - d);
    auto out = run_op({.op = "GatherElements", .inputs = {x, i64(idims, iv)}, .attrs = attrs({{"axis", int64_t(axis - 3)}})});
    expect_close(out[0], build(idims, [&](const Dims& o) {
                   Dims in = o;
                   int64_t k = iv[size_t(ravel(o, idims))];
                   in[size_t(axis)] = k < 0 ? k + d : k;
                   return v[size_t(ravel(in, x.dims()))];
                 }), 0, 0);
  }
  expect_error([&] { run_op({.op = "GatherElements", .inputs = {x, i64({1, 1, 1}, {4})}}); }, ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "GatherElements", .inputs = {x, i64({1, 1}, {0})}}); }, ErrorCode::kInvalidModel);
}

TEST(TensorGatherND, BatchDims0And1) {
  Tensor x = rnd(DType::kI32, {2, 3, 4}, 4);
  std::vector<double> v = to_doubles(x);
  // batch_dims 0, k = 2: slices of the last axis.
  Tensor i0 = i64({3, 2}, {0, 1, 1, -1, 1, 0});
  auto a = run_op({.op = "GatherND", .inputs = {x, i0}});
  std::vector<int64_t> iv0 = i0.to_int64_vector();
  expect_close(a[0], build({3, 4}, [&](const Dims& o) {
                 int64_t p = iv0[size_t(o[0] * 2)], q = iv0[size_t(o[0] * 2 + 1)];
                 return v[size_t(ravel({p, q < 0 ? q + 3 : q, o[1]}, x.dims()))];
               }), 0, 0);
  // batch_dims 1, k = 2: one element per tuple.
  Tensor i1 = i64({2, 2, 2}, {0, 3, 2, 1, 1, 1, 2, -4});
  std::vector<int64_t> iv1 = i1.to_int64_vector();
  auto b = run_op({.op = "GatherND", .inputs = {x, i1}, .attrs = attrs({{"batch_dims", int64_t(1)}})});
  expect_close(b[0], build({2, 2}, [&](const Dims& o) {
                 int64_t p = iv1[size_t((o[0] * 2 + o[1]) * 2)], q = iv1[size_t((o[0] * 2 + o[1]) * 2 + 1)];
                 return v[size_t(ravel({o[0], p, q < 0 ? q + 4 : q}, x.dims()))];
               }), 0, 0);
  // k = 3: scalars.
  auto c = run_op({.op = "GatherND", .inputs = {x, i64({1, 3}, {1, 2, 3})}});
  expect_close(c[0], {v[size_t(ravel({1, 2, 3}, x.dims()))]}, 0, 0);
  expect_error([&] { run_op({.op = "GatherND", .inputs = {x, i64({1, 4}, {0, 0, 0, 0})}}); }, ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "GatherND", .inputs = {x, i64({1, 2}, {2, 0})}}); }, ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "GatherND", .inputs = {x, i64({3, 1}, {0, 0, 0})}, .attrs = attrs({{"batch_dims", int64_t(1)}})}); },
               ErrorCode::kInvalidModel);
}

double apply(double a, double b, const std::string& r) {
  if (r == "add") return a + b;
  if (r == "mul") return a * b;
  if (r == "max") return std::max(a, b);
  if (r == "min") return std::min(a, b);
  return b;
}

TEST(TensorScatterElements, ReductionsWithDuplicates) {
  for (DType dt : {DType::kF32, DType::kF64, DType::kI64, DType::kI32}) {
    for (const std::string red : {"none", "add", "mul", "max", "min"}) {
      for (int axis = 0; axis < 2; ++axis) {
        Tensor x = rnd(dt, {5, 17}, 1);
        Dims idims{3, 6};
        int64_t d = x.dim(axis);
        std::vector<int64_t> iv;
        for (int i = 0; i < 18; ++i) iv.push_back((i * 5) % d - (i % 3 == 0 ? d : 0));
        Tensor upd = rnd(dt, idims, 2);
        auto out = run_op({.op = "ScatterElements", .inputs = {x, i64(idims, iv), upd},
                           .attrs = attrs({{"axis", int64_t(axis)}, {"reduction", red}}), .opset = 18});
        std::vector<double> want = to_doubles(x), u = to_doubles(upd);
        for (int64_t i = 0; i < 18; ++i) {
          Dims o = unravel(i, idims);
          int64_t k = iv[size_t(i)];
          o[size_t(axis)] = k < 0 ? k + d : k;
          double& slot = want[size_t(ravel(o, x.dims()))];
          slot = apply(slot, u[size_t(i)], red);
        }
        if (dt == DType::kI32 && red == "mul") continue;  // wraps; covered by i64
        expect_close(out[0], want, 1e-12, 1e-6);
      }
    }
  }
  Tensor x = rnd(DType::kF32, {2, 2}, 1);
  expect_error([&] { run_op({.op = "ScatterElements", .inputs = {x, i64({1, 1}, {2}), x.reshaped({4}).reshaped({2, 2})}}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "ScatterElements", .inputs = {x, i64({1, 1}, {2}), Tensor::from_vector<float>({1, 1}, {1.f})}}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "ScatterElements", .inputs = {x, i64({1, 1}, {0}), Tensor::from_vector<float>({1, 1}, {1.f})},
                             .attrs = attrs({{"reduction", std::string("avg")}})}); },
               ErrorCode::kInvalidModel);
}

TEST(TensorScatterND, SlicesAndReductions) {
  for (const std::string red : {"none", "add", "mul", "max", "min"}) {
    Tensor x = rnd(DType::kF32, {4, 3, 5}, 1);
    Tensor idx = i64({3, 2}, {0, 1, 3, -1, 0, 1});  // duplicate (0, 1)
    Tensor upd = rnd(DType::kF32, {3, 5}, 2);
    auto out = run_op({.op = "ScatterND", .inputs = {x, idx, upd}, .attrs = attrs({{"reduction", red}}), .opset = 18});
    std::vector<double> want = to_doubles(x), u = to_doubles(upd);
    std::vector<int64_t> iv = idx.to_int64_vector();
    for (int64_t t = 0; t < 3; ++t)
      for (int64_t j = 0; j < 5; ++j) {
        int64_t q = iv[size_t(t * 2 + 1)];
        double& slot = want[size_t(ravel({iv[size_t(t * 2)], q < 0 ? q + 3 : q, j}, x.dims()))];
        slot = apply(slot, u[size_t(t * 5 + j)], red);
      }
    expect_close(out[0], want, 1e-6, 1e-6);
  }
  Tensor x = rnd(DType::kF16, {4, 3}, 1);
  auto full = run_op({.op = "ScatterND", .inputs = {x, i64({1, 1}, {2}), rnd(DType::kF16, {1, 3}, 5)}, .opset = 13});
  std::vector<double> w = to_doubles(x), u = to_doubles(rnd(DType::kF16, {1, 3}, 5));
  for (int j = 0; j < 3; ++j) w[size_t(6 + j)] = u[size_t(j)];
  expect_close(full[0], w, 0, 0);
  expect_error([&] { run_op({.op = "ScatterND", .inputs = {x, i64({1, 1}, {4}), rnd(DType::kF16, {1, 3}, 5)}}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "ScatterND", .inputs = {x, i64({1, 1}, {0}), rnd(DType::kF16, {1, 2}, 5)}}); },
               ErrorCode::kInvalidModel);
}

}  // namespace
}  // namespace kiln::test
