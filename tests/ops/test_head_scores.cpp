// kiln.HeadScores' CPU reference against the unfused computation in long double — Q's head
// split (Transpose(0,2,1,3)) times the scale, K's (Transpose(0,2,3,1)), the batched product — over
// awkward shapes, fp32 and fp16 storage; its shape inference with symbolic dims; and what does
// not fit (another rank, batch or head counts that differ, mixed dtypes).
#include <cmath>

#include "harness.h"
#include "kiln/status.h"
#include "ops/op.h"
#include "ops/registry.h"

namespace kiln::test {
namespace {

OpCall call(std::vector<Tensor> inputs, float scale) {
  OpCall c;
  c.op = "HeadScores";
  c.domain = "kiln";
  c.opset = 1;
  c.inputs = std::move(inputs);
  c.attrs.set("scale", scale);
  return c;
}

// S[b, n, l, j] = Σ_d (scale · Q[b, l, n, d]) · K[b, j, n, d], as the exported graph orders it.
std::vector<double> unfused(const Tensor& q, const Tensor& k, double scale) {
  const int64_t B = q.dim(0), L = q.dim(1), N = q.dim(2), D = q.dim(3), J = k.dim(1);
  const std::vector<double> qd = to_doubles(q), kd = to_doubles(k);
  std::vector<double> out(size_t(B * N * L * J));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t l = 0; l < L; ++l)
        for (int64_t j = 0; j < J; ++j) {
          long double acc = 0;
          for (int64_t d = 0; d < D; ++d)
            acc += (long double)(scale * qd[size_t(((b * L + l) * N + n) * D + d)]) * kd[size_t(((b * J + j) * N + n) * D + d)];
          out[size_t(((b * N + n) * L + l) * J + j)] = double(acc);
        }
  return out;
}

TEST(HeadScores, MatchesTheUnfusedProduct) {
  struct Case {
    int64_t B, L, J, N, D;
    float scale;
  };
  const std::vector<Case> cases = {{1, 1, 1, 1, 1, 1.f},    {1, 80, 10, 4, 16, 0.25f}, {2, 17, 9, 3, 5, 0.4472136f},
                                   {3, 7, 33, 8, 32, 0.17677669f}, {1, 5, 1, 2, 64, -2.f},   {2, 1, 13, 1, 7, 1.f}};
  uint64_t seed = 8100;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " B" + std::to_string(c.B) + " L" + std::to_string(c.L) + " J" +
                   std::to_string(c.J) + " N" + std::to_string(c.N) + " D" + std::to_string(c.D));
      const Tensor q = random_tensor(dt, {c.B, c.L, c.N, c.D}, seed++, -2, 2);
      const Tensor k = random_tensor(dt, {c.B, c.J, c.N, c.D}, seed++, -2, 2);
      const auto out = run_op(call({q, k}, c.scale));
      ASSERT_EQ(out.size(), 1u);
      expect_dims(out[0], {c.B, c.N, c.L, c.J});
      // One rounding of a sum bounded by 4·D·|scale|: fp32 2^-24 relative, fp16 2^-11.
      const double tol = dt == DType::kF16 ? 1e-3 : 1e-6;
      expect_close(out[0], unfused(q, k, c.scale), tol, tol);
    }
}

TEST(HeadScores, EmptyHeadsAndRows) {
  const auto out = run_op(call({random_tensor(DType::kF32, {2, 0, 3, 4}, 1), random_tensor(DType::kF32, {2, 5, 3, 4}, 2)}, 1.f));
  expect_dims(out[0], {2, 3, 0, 5});
  const auto zero_d = run_op(call({random_tensor(DType::kF32, {1, 2, 3, 0}, 1), random_tensor(DType::kF32, {1, 4, 3, 0}, 2)}, 1.f));
  expect_close(zero_d[0], std::vector<double>(24, 0.0), 0, 0);
}

TEST(HeadScores, InfersSymbolicDims) {
  Graph g;
  Node n;
  n.op_type = "HeadScores";
  n.domain = "kiln";
  n.opset = 1;
  ValueType q{DType::kF16, Shape{Dim::symbolic("B"), Dim::symbolic("L"), Dim(8), Dim(32)}};
  ValueType k{DType::kF16, Shape{Dim::symbolic("B"), Dim::symbolic("w"), Dim(8), Dim(32)}};
  Value qv{"q", q, std::nullopt}, kv{"k", k, std::nullopt};
  InferContext ctx{{n}, {&qv, &kv}};
  const auto types = OpRegistry::instance().find("kiln", "HeadScores")->infer(ctx);
  ASSERT_EQ(types.size(), 1u);
  EXPECT_EQ(types[0].dtype, DType::kF16);
  EXPECT_EQ(shape_to_string(*types[0].shape), "Bx8xLxw");
}

TEST(HeadScores, RefusesWhatDoesNotFit) {
  auto code = [](Dims q, Dims k, DType kt = DType::kF32) {
    return error_code_of(call({random_tensor(DType::kF32, q, 1), random_tensor(kt, k, 2)}, 1.f));
  };
  EXPECT_EQ(code({1, 4, 2, 8}, {2, 5, 2, 8}), ErrorCode::kInvalidModel);     // batch differs
  EXPECT_EQ(code({1, 4, 2, 8}, {1, 5, 3, 8}), ErrorCode::kInvalidModel);     // heads differ
  EXPECT_EQ(code({1, 4, 2, 8}, {1, 5, 2, 7}), ErrorCode::kInvalidModel);     // head size differs
  EXPECT_EQ(code({4, 2, 8}, {5, 2, 8}), ErrorCode::kInvalidModel);           // rank 3
  EXPECT_EQ(code({1, 4, 2, 8}, {1, 5, 2, 8}, DType::kF16), ErrorCode::kInvalidModel);  // mixed dtypes
}

}  // namespace
}  // namespace kiln::test
