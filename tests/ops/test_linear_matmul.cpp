// MatMul and Gemm against naive double-precision loops.
#include "harness.h"
#include "ops/registry.h"

// OpCall is filled with designated initializers; omitted members are meant to default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace kiln::test {
namespace {

// numpy.matmul in double: returns values and the result dims.
std::pair<std::vector<double>, Dims> matmul_ref(const Tensor& ta, const Tensor& tb) {
  Dims ad = ta.dims(), bd = tb.dims();
  bool a1 = ad.size() == 1, b1 = bd.size() == 1;
  if (a1) ad.insert(ad.begin(), 1);
  if (b1) bd.push_back(1);
  size_t rank = std::max(ad.size(), bd.size());
  while (ad.size() < rank) ad.insert(ad.begin(), 1);
  while (bd.size() < rank) bd.insert(bd.begin(), 1);
  int64_t m = ad[rank - 2], k = ad[rank - 1], n = bd[rank - 1];
  Dims batch(rank - 2);
  for (size_t i = 0; i + 2 < rank; ++i) batch[i] = std::max(ad[i], bd[i]);
  auto a = to_doubles(ta), b = to_doubles(tb);
  int64_t nb = numel_of(batch);
  std::vector<double> out;
  for (int64_t bi = 0; bi < nb; ++bi) {
    // batch index -> offsets in a and b (size-1 dims broadcast)
    int64_t rem = bi, aoff = 0, boff = 0, astr = m * k, bstr = k * n;
    for (size_t d = batch.size(); d-- > 0;) {
      int64_t i = rem % batch[d];
      rem /= batch[d];
      aoff += (ad[d] == 1 ? 0 : i) * astr;
      boff += (bd[d] == 1 ? 0 : i) * bstr;
      astr *= ad[d];
      bstr *= bd[d];
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) s += a[size_t(aoff + i * k + p)] * b[size_t(boff + p * n + j)];
        out.push_back(s);
      }
  }
  Dims od = batch;
  if (!a1) od.push_back(m);
  if (!b1) od.push_back(n);
  return {out, od};
}

void check_matmul(DType dt, const Dims& ad, const Dims& bd, double tol, uint64_t seed) {
  Tensor a = random_tensor(dt, ad, seed), b = random_tensor(dt, bd, seed + 1);
  if (dt == DType::kI32 || dt == DType::kI64) {
    a = random_tensor(dt, ad, seed, -20, 20);
    b = random_tensor(dt, bd, seed + 1, -20, 20);
  }
  auto out = run_op({.op = "MatMul", .inputs = {a, b}, .opset = 13});
  auto [want, od] = matmul_ref(a, b);
  SCOPED_TRACE(std::string(dtype_name(dt)) + " " + dims_to_string(ad) + " x " + dims_to_string(bd));
  expect_dims(out[0], od);
  expect_close(out[0], want, tol, tol);
}

TEST(LinearMatMul, AwkwardShapesF32) {
  uint64_t seed = 100;
  for (auto [ad, bd] : std::vector<std::pair<Dims, Dims>>{
           {{1, 1}, {1, 1}},        {{3, 17}, {17, 5}},        {{1023, 3}, {3, 1025}},
           {{17, 1025}, {1025, 3}}, {{2, 3, 17}, {17, 4}},    {{1, 16384, 32}, {32, 64}},
           {{2, 5, 7, 9}, {2, 5, 9, 3}}, {{5, 1, 4, 6}, {3, 6, 2}}, {{3, 6}, {2, 4, 6, 5}},
           {{4, 6}, {1, 6, 2}},     {{300, 8, 8}, {300, 8, 8}}, {{2, 64, 128}, {2, 128, 96}}})
    check_matmul(DType::kF32, ad, bd, 1e-4, seed += 2);
}

TEST(LinearMatMul, OneDimensionalOperands) {
  uint64_t seed = 200;
  for (auto [ad, bd] : std::vector<std::pair<Dims, Dims>>{
           {{17}, {17}}, {{17}, {17, 3}}, {{4, 17}, {17}}, {{17}, {2, 17, 3}}, {{2, 3, 17}, {17}}, {{1}, {1}}})
    check_matmul(DType::kF32, ad, bd, 1e-5, seed += 2);
}

TEST(LinearMatMul, OtherDtypes) {
  check_matmul(DType::kF64, {3, 33, 17}, {17, 9}, 1e-12, 300);
  check_matmul(DType::kF64, {2, 1, 5, 4}, {3, 4, 6}, 1e-12, 302);
  check_matmul(DType::kF16, {2, 9, 31}, {31, 7}, 2e-2, 304);
  check_matmul(DType::kBF16, {9, 31}, {2, 31, 7}, 1e-1, 306);
  check_matmul(DType::kI32, {3, 7, 13}, {13, 5}, 0, 308);
  check_matmul(DType::kI64, {2, 1, 7, 13}, {4, 13, 5}, 0, 310);
  check_matmul(DType::kI64, {13}, {13}, 0, 312);
}

TEST(LinearMatMul, EmptyDims) {
  Tensor a = random_tensor(DType::kF32, {3, 0}, 1), b = random_tensor(DType::kF32, {0, 4}, 2);
  auto out = run_op({.op = "MatMul", .inputs = {a, b}});
  expect_dims(out[0], {3, 4});
  expect_close(out[0], std::vector<double>(12, 0.0));
}

TEST(LinearMatMul, Errors) {
  Tensor a = random_tensor(DType::kF32, {3, 4}, 1), b = random_tensor(DType::kF32, {5, 2}, 2);
  EXPECT_EQ(error_code_of({.op = "MatMul", .inputs = {a, b}}), ErrorCode::kInvalidModel);
  Tensor c = random_tensor(DType::kF32, {2, 3, 4}, 3), d = random_tensor(DType::kF32, {3, 4, 2}, 4);
  EXPECT_EQ(error_code_of({.op = "MatMul", .inputs = {c, d}}), ErrorCode::kInvalidModel);
  Tensor s = Tensor::scalar(1.0f);
  EXPECT_EQ(error_code_of({.op = "MatMul", .inputs = {s, a}}), ErrorCode::kInvalidModel);
  Tensor u = random_tensor(DType::kU8, {3, 4}, 5), v = random_tensor(DType::kU8, {4, 2}, 6);
  EXPECT_EQ(error_code_of({.op = "MatMul", .inputs = {u, v}}), ErrorCode::kUnsupported);
  Tensor e = random_tensor(DType::kF64, {4, 2}, 7);
  EXPECT_EQ(error_code_of({.op = "MatMul", .inputs = {a, e}}), ErrorCode::kInvalidModel);
}

TEST(LinearMatMul, SymbolicInference) {
  // Shape inference keeps symbolic batch dims and does not need known ranks.
  Node n;
  n.op_type = "MatMul";
  n.opset = 13;
  n.inputs = {"a", "b"};
  n.outputs = {"y"};
  Value a{"a", {DType::kF32, Shape{Dim::symbolic("B"), Dim(7), Dim(3)}}, std::nullopt};
  Value b{"b", {DType::kF32, Shape{Dim(3), Dim::symbolic("N")}}, std::nullopt};
  Value u{"u", {DType::kF32, std::nullopt}, std::nullopt};
  const OpSchema* s = OpRegistry::instance().find("", "MatMul");
  ASSERT_NE(s, nullptr);
  auto out = s->infer(InferContext{{n}, {&a, &b}});
  ASSERT_TRUE(out[0].shape.has_value());
  EXPECT_EQ(shape_to_string(*out[0].shape), shape_to_string({Dim::symbolic("B"), Dim(7), Dim::symbolic("N")}));
  out = s->infer(InferContext{{n}, {&a, &u}});
  EXPECT_FALSE(out[0].shape.has_value());
}

// ---- Gemm ----

std::vector<double> gemm_ref(const Tensor& a, const Tensor& b, const Tensor* c, bool ta, bool tb,
                             double alpha, double beta) {
  auto av = to_doubles(a), bv = to_doubles(b);
  int64_t m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1), n = tb ? b.dim(0) : b.dim(1);
  std::vector<double> y;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p)
        s += av[size_t(ta ? p * m + i : i * k + p)] * bv[size_t(tb ? j * k + p : p * n + j)];
      double cv = 0;
      if (c) {
        Dims cd = c->dims();
        while (cd.size() < 2) cd.insert(cd.begin(), 1);
        cv = c->at_double((cd[0] == 1 ? 0 : i) * cd[1] + (cd[1] == 1 ? 0 : j));
      }
      y.push_back(alpha * s + beta * cv);
    }
  return y;
}

TEST(LinearGemm, AttributesAndBiasShapes) {
  int64_t m = 17, k = 33, n = 9;
  uint64_t seed = 400;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (Dims cd : {Dims{}, Dims{n}, Dims{1}, Dims{m, 1}, Dims{m, n}, Dims{1, n}}) {
        Tensor a = random_tensor(DType::kF32, ta ? Dims{k, m} : Dims{m, k}, seed++);
        Tensor b = random_tensor(DType::kF32, tb ? Dims{n, k} : Dims{k, n}, seed++);
        Tensor c = random_tensor(DType::kF32, cd, seed++);
        Attributes at;
        at.set("transA", int64_t(ta));
        at.set("transB", int64_t(tb));
        at.set("alpha", 0.75f);
        at.set("beta", -1.5f);
        auto out = run_op({.op = "Gemm", .inputs = {a, b, c}, .attrs = at, .opset = 13});
        SCOPED_TRACE(dims_to_string(cd) + (ta ? " tA" : "") + (tb ? " tB" : ""));
        expect_close(out[0], gemm_ref(a, b, &c, ta, tb, 0.75, -1.5), 1e-4, 1e-4);
      }
}

TEST(LinearGemm, NoBiasAndDtypes) {
  Tensor a = random_tensor(DType::kF32, {1, 1025}, 500), b = random_tensor(DType::kF32, {1025, 3}, 501);
  auto out = run_op({.op = "Gemm", .inputs = {a, b}, .opset = 13});
  expect_close(out[0], gemm_ref(a, b, nullptr, false, false, 1, 1), 1e-4, 1e-4);
  for (DType dt : {DType::kF64, DType::kF16, DType::kBF16, DType::kI32, DType::kI64}) {
    bool integer = dt == DType::kI32 || dt == DType::kI64;
    Tensor x = random_tensor(dt, {5, 7}, 502, -9, 9), y = random_tensor(dt, {3, 7}, 503, -9, 9);
    Tensor c = random_tensor(dt, {3}, 504, -9, 9);
    for (float alpha : {1.0f, 2.0f}) {
      Attributes at;
      at.set("transB", int64_t(1));
      at.set("alpha", alpha);
      auto r = run_op({.op = "Gemm", .inputs = {x, y, c}, .attrs = at, .opset = 13});
      double tol = integer ? 0 : dt == DType::kF64 ? 1e-12 : dt == DType::kF16 ? 0.1 : 1.0;
      SCOPED_TRACE(dtype_name(dt));
      expect_close(r[0], gemm_ref(x, y, &c, false, true, alpha, 1.0), tol, integer ? 0 : 1e-2);
    }
  }
}

TEST(LinearGemm, Errors) {
  Tensor a = random_tensor(DType::kF32, {3, 4}, 1), b = random_tensor(DType::kF32, {5, 2}, 2);
  EXPECT_EQ(error_code_of({.op = "Gemm", .inputs = {a, b}}), ErrorCode::kInvalidModel);
  Tensor b2 = random_tensor(DType::kF32, {4, 2}, 3), c = random_tensor(DType::kF32, {3, 3}, 4);
  EXPECT_EQ(error_code_of({.op = "Gemm", .inputs = {a, b2, c}}), ErrorCode::kInvalidModel);
  Tensor a3 = random_tensor(DType::kF32, {1, 3, 4}, 5);
  EXPECT_EQ(error_code_of({.op = "Gemm", .inputs = {a3, b2}}), ErrorCode::kInvalidModel);
  Tensor u = random_tensor(DType::kU8, {3, 4}, 6), v = random_tensor(DType::kU8, {4, 2}, 7);
  EXPECT_EQ(error_code_of({.op = "Gemm", .inputs = {u, v}}), ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace kiln::test
