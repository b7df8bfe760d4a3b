// kiln.MSDeformAttn's CPU reference against transformers' formulation written out here: the
// grid 2*loc - 1, grid_sample's unnormalization ((g + 1) * w - 1) / 2 with zero padding, the
// samples stacked and weighted per level and point. Odd level sizes, locations outside [0, 1],
// non-contiguous level starts, mixed dtypes; then the checks that refuse inconsistent inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "harness.h"
#include "ops/op.h"

namespace kiln::test {
namespace {

struct Case {
  int64_t b = 2, q = 5, h = 3, d = 4, p = 3;
  std::vector<std::array<int64_t, 2>> levels = {{5, 7}, {3, 2}, {1, 1}};
  std::vector<int64_t> starts;  // empty: contiguous from 0
  int64_t extra_tokens = 0;     // value tokens beyond the levels
};

int64_t tokens(const Case& c) {
  int64_t s = c.extra_tokens;
  for (auto [hh, ww] : c.levels) s += hh * ww;
  return s;
}

std::vector<int64_t> starts_of(const Case& c) {
  if (!c.starts.empty()) return c.starts;
  std::vector<int64_t> s;
  int64_t at = 0;
  for (auto [hh, ww] : c.levels) s.push_back(at), at += hh * ww;
  return s;
}

OpCall call_for(const Case& c, DType dt, DType loc_dt, uint64_t seed) {
  const int64_t l = int64_t(c.levels.size());
  std::vector<int64_t> shapes;
  for (auto [hh, ww] : c.levels) shapes.push_back(hh), shapes.push_back(ww);
  OpCall call;
  call.op = "MSDeformAttn";
  call.domain = kKilnDomain;
  call.inputs = {random_tensor(dt, {c.b, tokens(c), c.h, c.d}, seed),
                 Tensor::from_vector<int64_t>({l, 2}, shapes),
                 Tensor::from_vector<int64_t>({l}, starts_of(c)),
                 random_tensor(loc_dt, {c.b, c.q, c.h, l, c.p, 2}, seed + 1, -0.3, 1.3),
                 random_tensor(loc_dt, {c.b, c.q, c.h, l, c.p}, seed + 2, 0.0, 1.0)};
  call.constant_inputs = {1, 2};
  return call;
}

// grid_sample(value_l, 2*loc - 1, bilinear, zeros, align_corners=False) per level, as PyTorch
// computes the pixel coordinate, then Σ weights · samples.
std::vector<double> expected(const Case& c, const OpCall& call) {
  const std::vector<double> v = to_doubles(call.inputs[0]), loc = to_doubles(call.inputs[3]),
                            w = to_doubles(call.inputs[4]);
  const std::vector<int64_t> starts = starts_of(c);
  const int64_t s = tokens(c), l = int64_t(c.levels.size());
  std::vector<double> out(size_t(c.b * c.q * c.h * c.d), 0.0);
  for (int64_t b = 0; b < c.b; ++b)
    for (int64_t q = 0; q < c.q; ++q)
      for (int64_t h = 0; h < c.h; ++h)
        for (int64_t lv = 0; lv < l; ++lv) {
          const int64_t hh = c.levels[size_t(lv)][0], ww = c.levels[size_t(lv)][1];
          for (int64_t p = 0; p < c.p; ++p) {
            const int64_t k = (((b * c.q + q) * c.h + h) * l + lv) * c.p + p;
            const double gx = 2 * loc[size_t(2 * k)] - 1, gy = 2 * loc[size_t(2 * k + 1)] - 1;
            const double x = ((gx + 1) * double(ww) - 1) / 2, y = ((gy + 1) * double(hh) - 1) / 2;
            const int64_t x0 = int64_t(std::floor(x)), y0 = int64_t(std::floor(y));
            for (int64_t yy = y0; yy <= y0 + 1; ++yy)
              for (int64_t xx = x0; xx <= x0 + 1; ++xx) {
                if (yy < 0 || yy >= hh || xx < 0 || xx >= ww) continue;
                const double wt = (1 - std::fabs(x - double(xx))) * (1 - std::fabs(y - double(yy)));
                const int64_t token = starts[size_t(lv)] + yy * ww + xx;
                for (int64_t d = 0; d < c.d; ++d)
                  out[size_t(((b * c.q + q) * c.h + h) * c.d + d)] +=
                      w[size_t(k)] * wt * v[size_t(((b * s + token) * c.h + h) * c.d + d)];
              }
          }
        }
  return out;
}

TEST(MsDeformAttnOp, MatchesGridSampleFormulation) {
  for (DType dt : {DType::kF32, DType::kF64}) {
    Case c;
    const OpCall call = call_for(c, dt, dt, 11);
    const std::vector<Tensor> y = run_op(call);
    expect_dims(y[0], {c.b, c.q, c.h * c.d});
    expect_close(y[0], expected(c, call), dt == DType::kF64 ? 1e-12 : 1e-6, 1e-6);
  }
}

TEST(MsDeformAttnOp, LevelsAnywhereInValueAndMixedDtypes) {
  Case c;
  c.levels = {{4, 3}, {2, 5}};
  c.starts = {13, 0};  // the second level first, a gap, tokens after the last level
  c.extra_tokens = 5;
  const OpCall call = call_for(c, DType::kF32, DType::kF16, 3);
  expect_close(run_op(call)[0], expected(c, call), 1e-6, 1e-6);
  const OpCall half = call_for(c, DType::kF16, DType::kF32, 4);
  expect_close(run_op(half)[0], expected(c, half), 2e-3, 2e-3);  // one fp16 rounding of the sum
}

TEST(MsDeformAttnOp, NonFiniteLocationsSampleZero) {
  Case c;
  c.levels = {{3, 3}};
  c.b = 1, c.q = 1, c.h = 1, c.p = 2;
  OpCall call = call_for(c, DType::kF32, DType::kF32, 5);
  float* loc = call.inputs[3].data<float>();
  loc[0] = NAN, loc[1] = 0.5f;                // point 0: NaN x
  loc[2] = INFINITY, loc[3] = -INFINITY;      // point 1: infinite
  const std::vector<Tensor> y = run_op(call);
  for (double v : to_doubles(y[0])) EXPECT_EQ(v, 0.0);
}

TEST(MsDeformAttnOp, InfersSymbolicShapes) {
  Case c;
  OpCall call = call_for(c, DType::kF16, DType::kF16, 1);
  const std::vector<ValueType> t = infer_op(call);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].dtype, DType::kF16);
  EXPECT_EQ(shape_dims(*t[0].shape), (Dims{c.b, c.q, c.h * c.d}));
}

TEST(MsDeformAttnOp, RefusesInconsistentInputs) {
  Case c;
  OpCall heads = call_for(c, DType::kF32, DType::kF32, 1);
  heads.inputs[4] = random_tensor(DType::kF32, {c.b, c.q, c.h + 1, 3, c.p}, 2);
  EXPECT_EQ(error_code_of(heads), ErrorCode::kInvalidModel);
  OpCall points = call_for(c, DType::kF32, DType::kF32, 1);
  points.inputs[3] = random_tensor(DType::kF32, {c.b, c.q, c.h, 3, c.p + 1, 2}, 2);
  EXPECT_EQ(error_code_of(points), ErrorCode::kInvalidModel);
  OpCall pair = call_for(c, DType::kF32, DType::kF32, 1);
  pair.inputs[3] = random_tensor(DType::kF32, {c.b, c.q, c.h, 3, c.p, 3}, 2);
  EXPECT_EQ(error_code_of(pair), ErrorCode::kInvalidModel);
  OpCall outside = call_for(c, DType::kF32, DType::kF32, 1);
  outside.inputs[2] = Tensor::from_vector<int64_t>({3}, {0, 37, 41});  // 37 + 3*2 > 42 tokens
  EXPECT_EQ(error_code_of(outside), ErrorCode::kInvalidModel);
  OpCall negative = call_for(c, DType::kF32, DType::kF32, 1);
  negative.inputs[1] = Tensor::from_vector<int64_t>({3, 2}, {5, 7, -3, 2, 1, 1});
  EXPECT_EQ(error_code_of(negative), ErrorCode::kInvalidModel);
  OpCall levels = call_for(c, DType::kF32, DType::kF32, 1);
  levels.inputs[2] = Tensor::from_vector<int64_t>({2}, {0, 35});
  EXPECT_EQ(error_code_of(levels), ErrorCode::kInvalidModel);
  OpCall float_shapes = call_for(c, DType::kF32, DType::kF32, 1);
  float_shapes.inputs[1] = random_tensor(DType::kF32, {3, 2}, 2);
  EXPECT_EQ(error_code_of(float_shapes), ErrorCode::kInvalidModel);
}

}  // namespace
}  // namespace kiln::test
