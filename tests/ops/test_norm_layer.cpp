// LayerNormalization against a naive double-precision reference.
#include <cmath>

#include "harness.h"

// OpCall is filled with designated initializers; omitted members are meant to default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace kiln::test {
namespace {

struct LnRef {
  std::vector<double> y, mean, inv;
};

// Reference with scale/bias already expanded to x's full shape.
LnRef layer_norm_ref(const std::vector<double>& x, const Dims& dims, int axis,
                     const std::vector<double>& scale, const std::vector<double>& bias,
                     double eps) {
  int64_t rows = 1, inner = 1;
  for (int i = 0; i < int(dims.size()); ++i) (i < axis ? rows : inner) *= dims[size_t(i)];
  LnRef r;
  r.y.resize(x.size());
  for (int64_t row = 0; row < rows; ++row) {
    double m = 0;
    for (int64_t i = 0; i < inner; ++i) m += x[size_t(row * inner + i)];
    m /= double(inner);
    double v = 0;
    for (int64_t i = 0; i < inner; ++i) v += std::pow(x[size_t(row * inner + i)] - m, 2);
    v /= double(inner);
    double inv = 1.0 / std::sqrt(v + eps);
    for (int64_t i = 0; i < inner; ++i) {
      size_t k = size_t(row * inner + i);
      r.y[k] = (x[k] - m) * inv * scale[k] + (bias.empty() ? 0.0 : bias[k]);
    }
    r.mean.push_back(m);
    r.inv.push_back(inv);
  }
  return r;
}

// Tiles a parameter of the trailing dims `pdims` (right-aligned, no broadcasting inside) over x.
std::vector<double> tile_trailing(const std::vector<double>& p, size_t total) {
  std::vector<double> out(total);
  for (size_t i = 0; i < total; ++i) out[i] = p[i % p.size()];
  return out;
}

Attributes ln_attrs(int64_t axis, float eps = 1e-5f) {
  Attributes a;
  a.set("axis", axis);
  a.set("epsilon", eps);
  return a;
}

TEST(NormLayerNorm, LastAxisShapesF32) {
  for (Dims dims : {Dims{1, 1}, Dims{3, 17}, Dims{16384, 32}, Dims{256, 256}, Dims{2, 1023},
                    Dims{1, 1025}, Dims{2, 3, 64}}) {
    int64_t c = dims.back();
    Tensor x = random_tensor(DType::kF32, dims, 1, -3.0, 5.0);
    Tensor s = random_tensor(DType::kF32, {c}, 2, 0.5, 2.0);
    Tensor b = random_tensor(DType::kF32, {c}, 3);
    auto out = run_op({.op = "LayerNormalization", .inputs = {x, s, b}, .attrs = ln_attrs(-1)});
    auto xd = to_doubles(x);
    auto ref = layer_norm_ref(xd, dims, int(dims.size()) - 1, tile_trailing(to_doubles(s), xd.size()),
                              tile_trailing(to_doubles(b), xd.size()), 1e-5);
    SCOPED_TRACE(dims_to_string(dims));
    expect_close(out[0], ref.y, 1e-5, 1e-5);
  }
}

TEST(NormLayerNorm, AllAxesWithStatsAndNegativeAxis) {
  Dims dims{2, 3, 5, 7};
  Tensor x = random_tensor(DType::kF32, dims, 4, -2.0, 2.0);
  auto xd = to_doubles(x);
  for (int axis = -4; axis < 4; ++axis) {
    int a = axis < 0 ? axis + 4 : axis;
    Dims pdims(dims.begin() + a, dims.end());
    Tensor s = random_tensor(DType::kF32, pdims, 5, 0.5, 2.0);
    Tensor b = random_tensor(DType::kF32, pdims, 6);
    auto out = run_op({.op = "LayerNormalization", .inputs = {x, s, b},
                       .attrs = ln_attrs(axis, 1e-3f), .num_outputs = 3});
    auto ref = layer_norm_ref(xd, dims, a, tile_trailing(to_doubles(s), xd.size()),
                              tile_trailing(to_doubles(b), xd.size()), 1e-3f);
    SCOPED_TRACE(axis);
    expect_close(out[0], ref.y, 1e-5, 1e-5);
    expect_close(out[1], ref.mean, 1e-6, 1e-6);
    expect_close(out[2], ref.inv, 1e-5, 1e-6);
    Dims sd = dims;
    for (int i = a; i < 4; ++i) sd[size_t(i)] = 1;
    expect_dims(out[1], sd);
    EXPECT_EQ(out[1].dtype(), DType::kF32);
  }
}

TEST(NormLayerNorm, NoBiasAndBroadcastScale) {
  Dims dims{4, 6, 9};
  Tensor x = random_tensor(DType::kF32, dims, 7, -1.0, 3.0);
  // Scale of shape [6, 1] broadcasts over the last axis of the normalized [6, 9] block.
  Tensor s = random_tensor(DType::kF32, {6, 1}, 8, 0.5, 2.0);
  auto out = run_op({.op = "LayerNormalization", .inputs = {x, s}, .attrs = ln_attrs(1)});
  auto xd = to_doubles(x), sd = to_doubles(s);
  std::vector<double> full(xd.size());
  for (size_t i = 0; i < xd.size(); ++i) full[i] = sd[(i / 9) % 6];
  expect_close(out[0], layer_norm_ref(xd, dims, 1, full, {}, 1e-5).y, 1e-5, 1e-5);
}

TEST(NormLayerNorm, ScaleVaryingOverOuterAxes) {
  Dims dims{3, 8};
  Tensor x = random_tensor(DType::kF32, dims, 9);
  Tensor s = random_tensor(DType::kF32, {3, 8}, 10, 0.5, 2.0);
  Tensor b = random_tensor(DType::kF32, {3, 1}, 11);
  auto out = run_op({.op = "LayerNormalization", .inputs = {x, s, b}, .attrs = ln_attrs(-1)});
  auto xd = to_doubles(x), bd = to_doubles(b);
  std::vector<double> bias(xd.size());
  for (size_t i = 0; i < xd.size(); ++i) bias[i] = bd[i / 8];
  expect_close(out[0], layer_norm_ref(xd, dims, 1, to_doubles(s), bias, 1e-5).y, 1e-5, 1e-5);
}

TEST(NormLayerNorm, HalfTypesAndDouble) {
  Dims dims{5, 33};
  for (DType dt : {DType::kF16, DType::kBF16, DType::kF64}) {
    Tensor x = random_tensor(dt, dims, 12, -2.0, 2.0);
    Tensor s = random_tensor(dt, {33}, 13, 0.5, 2.0);
    Tensor b = random_tensor(dt, {33}, 14);
    auto out = run_op({.op = "LayerNormalization", .inputs = {x, s, b}, .attrs = ln_attrs(-1),
                       .num_outputs = 2});
    auto xd = to_doubles(x);
    auto ref = layer_norm_ref(xd, dims, 1, tile_trailing(to_doubles(s), xd.size()),
                              tile_trailing(to_doubles(b), xd.size()), 1e-5);
    double tol = dt == DType::kF64 ? 1e-12 : dt == DType::kF16 ? 2e-3 : 1.6e-2;
    SCOPED_TRACE(dtype_name(dt));
    EXPECT_EQ(out[0].dtype(), dt);
    EXPECT_EQ(out[1].dtype(), DType::kF32);
    expect_close(out[0], ref.y, tol, tol);
    expect_close(out[1], ref.mean, 1e-6, 1e-6);
  }
}

TEST(NormLayerNorm, StashTypeDouble) {
  Tensor x = random_tensor(DType::kF32, {2, 4}, 15);
  Tensor s = random_tensor(DType::kF32, {4}, 16);
  Attributes a = ln_attrs(-1);
  a.set("stash_type", int64_t(11));
  auto out = run_op({.op = "LayerNormalization", .inputs = {x, s}, .attrs = a, .num_outputs = 3});
  EXPECT_EQ(out[1].dtype(), DType::kF64);
  EXPECT_EQ(out[2].dtype(), DType::kF64);
}

TEST(NormLayerNorm, Errors) {
  Tensor x = random_tensor(DType::kF32, {2, 4}, 17);
  Tensor s = random_tensor(DType::kF32, {4}, 18);
  auto code = [](const OpCall& c) {
    try {
      run_op(c);
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  EXPECT_EQ(code({.op = "LayerNormalization", .inputs = {x, s}, .attrs = ln_attrs(2)}),
            ErrorCode::kInvalidModel);
  EXPECT_EQ(code({.op = "LayerNormalization", .inputs = {x, s}, .attrs = ln_attrs(-3)}),
            ErrorCode::kInvalidModel);
  Tensor bad = random_tensor(DType::kF32, {3}, 19);
  EXPECT_EQ(code({.op = "LayerNormalization", .inputs = {x, bad}, .attrs = ln_attrs(-1)}),
            ErrorCode::kInvalidModel);
  Tensor xi = random_tensor(DType::kI32, {2, 4}, 20);
  Tensor si = random_tensor(DType::kI32, {4}, 21);
  EXPECT_EQ(code({.op = "LayerNormalization", .inputs = {xi, si}, .attrs = ln_attrs(-1)}),
            ErrorCode::kUnsupported);
  EXPECT_EQ(code({.op = "LayerNormalization", .inputs = {x, s}, .attrs = ln_attrs(-1), .opset = 16}),
            ErrorCode::kInvalidModel);
  Tensor sd = random_tensor(DType::kF64, {4}, 22);
  EXPECT_EQ(code({.op = "LayerNormalization", .inputs = {x, sd}, .attrs = ln_attrs(-1)}),
            ErrorCode::kInvalidModel);
}

}  // namespace
}  // namespace kiln::test
