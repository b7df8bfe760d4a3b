// kiln.LayerNormPatchRows against a naive double-precision LayerNorm and the window gather
// written as the 6-D transpose it replaces: Y within rounding of the double LayerNorm, P exactly
// Y's elements at their gathered places. Awkward shapes: one-channel and odd widths, patch 1 and
// a patch as large as the picture, non-square pictures, batch > 1, no B, the mixed fp32 → fp16
// form. Attribute and shape errors are model errors.
#include <cmath>
#include <cstring>

#include "harness.h"

// OpCall is filled with designated initializers; omitted members are meant to default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace kiln::test {
namespace {

struct Case {
  int64_t B = 2, H = 6, W = 4, p = 2, C = 5;
  DType x = DType::kF32, y = DType::kF32;
  bool bias = true;
  float eps = 1e-5f;
};

Attributes attrs(const Case& c) {
  Attributes a;
  a.set("height", c.H);
  a.set("width", c.W);
  a.set("patch", c.p);
  a.set("epsilon", c.eps);
  return a;
}

OpCall call(const Case& c, uint64_t seed) {
  OpCall k{.op = "LayerNormPatchRows", .attrs = attrs(c), .num_outputs = 2, .domain = "kiln"};
  k.inputs = {random_tensor(c.x, {c.B, c.H * c.W, c.C}, seed, -3.0, 5.0),
              random_tensor(c.y, {c.C}, seed + 1, 0.5, 2.0)};
  if (c.bias) k.inputs.push_back(random_tensor(c.y, {c.C}, seed + 2));
  return k;
}

// LayerNorm of every token row in double.
std::vector<double> naive_layer_norm(const Case& c, const OpCall& k) {
  const std::vector<double> x = to_doubles(k.inputs[0]), s = to_doubles(k.inputs[1]);
  const std::vector<double> b = c.bias ? to_doubles(k.inputs[2]) : std::vector<double>(size_t(c.C), 0.0);
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / size_t(c.C); ++r) {
    const double* xr = &x[r * size_t(c.C)];
    double mean = 0, var = 0;
    for (int64_t i = 0; i < c.C; ++i) mean += xr[i];
    mean /= double(c.C);
    for (int64_t i = 0; i < c.C; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    const double inv = 1.0 / std::sqrt(var / double(c.C) + double(c.eps));
    for (int64_t i = 0; i < c.C; ++i) y[r * size_t(c.C) + size_t(i)] = (xr[i] - mean) * inv * s[size_t(i)] + b[size_t(i)];
  }
  return y;
}

// Y [B, H, W, C] seen as [B, H/p, p, W/p, p, C], transposed (0,1,3,2,4,5), flattened: the
// element order of the Reshape → Transpose → Reshape the op replaces.
std::vector<double> gathered(const Case& c, const std::vector<double>& y) {
  const int64_t wh = c.H / c.p, ww = c.W / c.p;
  std::vector<double> out;
  out.reserve(y.size());
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t a = 0; a < wh; ++a)
      for (int64_t d = 0; d < ww; ++d)
        for (int64_t i = 0; i < c.p; ++i)
          for (int64_t j = 0; j < c.p; ++j)
            for (int64_t ch = 0; ch < c.C; ++ch)
              out.push_back(y[size_t((((b * wh + a) * c.p + i) * ww * c.p + d * c.p + j) * c.C + ch)]);
  return out;
}

void check(const Case& c, uint64_t seed) {
  SCOPED_TRACE("B " + std::to_string(c.B) + " H " + std::to_string(c.H) + " W " + std::to_string(c.W) + " p " +
               std::to_string(c.p) + " C " + std::to_string(c.C) + " " + dtype_name(c.x) + " -> " + dtype_name(c.y) +
               (c.bias ? "" : " no B"));
  const OpCall k = call(c, seed);
  const std::vector<Tensor> out = run_op(k);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].dtype(), c.y);
  EXPECT_EQ(out[1].dtype(), c.y);
  expect_dims(out[0], {c.B, c.H * c.W, c.C});
  expect_dims(out[1], {c.B, (c.H / c.p) * (c.W / c.p), c.p * c.p * c.C});
  const double tol = c.y == DType::kF16 ? 2e-3 : 1e-5;
  expect_close(out[0], naive_layer_norm(c, k), tol, tol);
  // P holds Y's very values: compared exactly.
  expect_close(out[1], gathered(c, to_doubles(out[0])), 0.0, 0.0);
}

TEST(NormLayerNormPatchRows, MatchesLayerNormThenWindowGather) {
  uint64_t seed = 100;
  for (const Case& c : {Case{}, Case{.B = 1, .H = 9, .W = 6, .p = 3, .C = 17}, Case{.B = 3, .H = 5, .W = 7, .p = 1, .C = 3},
                        Case{.B = 2, .H = 8, .W = 8, .p = 8, .C = 64}, Case{.B = 1, .H = 4, .W = 12, .p = 4, .C = 1},
                        Case{.B = 2, .H = 10, .W = 2, .p = 2, .C = 32, .bias = false},
                        Case{.B = 1, .H = 1, .W = 1, .p = 1, .C = 7}}) {
    check(c, seed);
    seed += 3;
  }
}

TEST(NormLayerNormPatchRows, HalfAndMixedForms) {
  check({.B = 2, .H = 6, .W = 10, .p = 2, .C = 33, .x = DType::kF16, .y = DType::kF16}, 200);
  check({.B = 1, .H = 12, .W = 8, .p = 4, .C = 32, .x = DType::kF32, .y = DType::kF16}, 210);
  check({.B = 3, .H = 3, .W = 6, .p = 3, .C = 9, .x = DType::kF16, .y = DType::kF32, .bias = false}, 220);
}

// The unfused LayerNormalization's Y bit for bit, whatever the type (the reference runs it).
TEST(NormLayerNormPatchRows, YIsLayerNormalizationsY) {
  for (DType x : {DType::kF32, DType::kF16}) {
    const Case c{.B = 2, .H = 4, .W = 6, .p = 2, .C = 24, .x = x, .y = DType::kF16};
    const OpCall k = call(c, 300);
    Attributes a;
    a.set("axis", int64_t(-1));
    a.set("epsilon", c.eps);
    const Tensor want = run_op({.op = "LayerNormalization", .inputs = k.inputs, .attrs = a})[0];
    const Tensor got = run_op(k)[0];
    ASSERT_EQ(got.nbytes(), want.nbytes());
    EXPECT_EQ(std::memcmp(got.raw(), want.raw(), got.nbytes()), 0) << dtype_name(x);
  }
}

TEST(NormLayerNormPatchRows, ShapeErrorsAreModelErrors) {
  const Case good{};
  auto with = [&](const char* name, int64_t v) {
    OpCall k = call(good, 400);
    k.attrs.set(name, v);
    return error_code_of(k);
  };
  EXPECT_EQ(with("height", 5), ErrorCode::kInvalidModel);  // H·W is not the token count
  EXPECT_EQ(with("patch", 4), ErrorCode::kInvalidModel);   // divides W = 4, not H = 6
  EXPECT_EQ(with("patch", 3), ErrorCode::kInvalidModel);   // divides H, not W
  EXPECT_EQ(with("patch", 0), ErrorCode::kInvalidModel);
  EXPECT_EQ(with("width", -4), ErrorCode::kInvalidModel);
  EXPECT_EQ(with("height", int64_t(1) << 40), ErrorCode::kInvalidModel);  // beyond the 32-bit row map
  OpCall missing = call(good, 410);
  missing.attrs = Attributes();
  missing.attrs.set("height", good.H);
  missing.attrs.set("width", good.W);
  EXPECT_EQ(error_code_of(missing), ErrorCode::kInvalidModel);  // no patch
  OpCall scale = call(good, 420);
  scale.inputs[1] = random_tensor(DType::kF32, {good.C + 1}, 421);
  EXPECT_EQ(error_code_of(scale), ErrorCode::kInvalidModel);
  OpCall rank = call(good, 430);
  rank.inputs[0] = random_tensor(DType::kF32, {good.H * good.W, good.C}, 431);
  EXPECT_EQ(error_code_of(rank), ErrorCode::kInvalidModel);
  OpCall types = call(good, 440);
  types.inputs[1] = random_tensor(DType::kF64, {good.C}, 441);  // neither X's type nor the other of f32/f16
  EXPECT_EQ(error_code_of(types), ErrorCode::kInvalidModel);
  OpCall ints = call(good, 450);
  ints.inputs[0] = random_tensor(DType::kI32, {good.B, good.H * good.W, good.C}, 451);
  EXPECT_EQ(error_code_of(ints), ErrorCode::kUnsupported);
}

// Inference gives Y X's shape and P [B, windows, p·p·C].
TEST(NormLayerNormPatchRows, InfersTheRowsShape) {
  const std::vector<ValueType> t = infer_op(call({.B = 3, .H = 6, .W = 4, .p = 2, .C = 5}, 500));
  ASSERT_EQ(t.size(), 2u);
  ASSERT_TRUE(t[1].shape);
  EXPECT_EQ(shape_to_string(*t[1].shape), "3x6x20");
  EXPECT_EQ(shape_to_string(*t[0].shape), "3x24x5");
}

}  // namespace
}  // namespace kiln::test
