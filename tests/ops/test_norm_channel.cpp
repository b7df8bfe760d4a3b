// InstanceNormalization, BatchNormalization, GroupNormalization against naive references.
#include <cmath>

#include "harness.h"

// OpCall is filled with designated initializers; omitted members are meant to default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace kiln::test {
namespace {

// Normalizes groups of `len` consecutive elements; param index per group = g % nparam.
std::vector<double> group_ref(const std::vector<double>& x, int64_t len,
                              const std::vector<double>& s, const std::vector<double>& b,
                              double eps) {
  std::vector<double> y(x.size());
  for (size_t g = 0; g * size_t(len) < x.size(); ++g) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < len; ++i) m += x[g * size_t(len) + size_t(i)];
    m /= double(len);
    for (int64_t i = 0; i < len; ++i) v += std::pow(x[g * size_t(len) + size_t(i)] - m, 2);
    v /= double(len);
    for (int64_t i = 0; i < len; ++i) {
      size_t k = g * size_t(len) + size_t(i);
      y[k] = (x[k] - m) / std::sqrt(v + eps) * s[g % s.size()] + b[g % b.size()];
    }
  }
  return y;
}

TEST(NormInstanceNorm, Shapes) {
  for (Dims dims : {Dims{1, 3, 17}, Dims{2, 5, 7, 9}, Dims{2, 4, 1, 1}, Dims{1, 2, 1025},
                    Dims{3, 2}}) {
    int64_t c = dims[1];
    Tensor x = random_tensor(DType::kF32, dims, 30, -2.0, 4.0);
    Tensor s = random_tensor(DType::kF32, {c}, 31, 0.5, 2.0);
    Tensor b = random_tensor(DType::kF32, {c}, 32);
    Attributes a;
    a.set("epsilon", 1e-3f);
    auto out = run_op({.op = "InstanceNormalization", .inputs = {x, s, b}, .attrs = a});
    int64_t spatial = numel_of(dims) / (dims[0] * c);
    SCOPED_TRACE(dims_to_string(dims));
    expect_close(out[0], group_ref(to_doubles(x), spatial, to_doubles(s), to_doubles(b), 1e-3),
                 1e-5, 1e-5);
  }
}

TEST(NormInstanceNorm, F16AndErrors) {
  Tensor x = random_tensor(DType::kF16, {2, 3, 11}, 33);
  Tensor s = random_tensor(DType::kF16, {3}, 34);
  Tensor b = random_tensor(DType::kF16, {3}, 35);
  auto out = run_op({.op = "InstanceNormalization", .inputs = {x, s, b}});
  expect_close(out[0], group_ref(to_doubles(x), 11, to_doubles(s), to_doubles(b), 1e-5), 3e-3,
               3e-3);
  Tensor s4 = random_tensor(DType::kF16, {4}, 36);
  EXPECT_EQ(error_code_of({.op = "InstanceNormalization", .inputs = {x, s4, b}}),
            ErrorCode::kInvalidModel);
  Tensor xi = random_tensor(DType::kI64, {2, 3, 11}, 37);
  EXPECT_EQ(error_code_of({.op = "InstanceNormalization",
                      .inputs = {xi, Tensor(DType::kI64, {3}), Tensor(DType::kI64, {3})}}),
            ErrorCode::kUnsupported);
}

std::vector<double> bn_ref(const std::vector<double>& x, int64_t c, int64_t spatial,
                           const std::vector<double>& s, const std::vector<double>& b,
                           const std::vector<double>& m, const std::vector<double>& v,
                           double eps) {
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    size_t ch = (i / size_t(spatial)) % size_t(c);
    y[i] = (x[i] - m[ch]) / std::sqrt(v[ch] + eps) * s[ch] + b[ch];
  }
  return y;
}

TEST(NormBatchNorm, OpsetsAndShapes) {
  for (int opset : {13, 14, 15}) {
    for (Dims dims : {Dims{2, 3, 5, 7}, Dims{1, 17}, Dims{3, 4, 1025}}) {
      int64_t c = dims[1], spatial = numel_of(dims) / (dims[0] * c);
      Tensor x = random_tensor(DType::kF32, dims, 40, -3.0, 3.0);
      Tensor s = random_tensor(DType::kF32, {c}, 41, 0.5, 2.0);
      Tensor b = random_tensor(DType::kF32, {c}, 42);
      Tensor m = random_tensor(DType::kF32, {c}, 43);
      Tensor v = random_tensor(DType::kF32, {c}, 44, 0.1, 2.0);
      Attributes a;
      a.set("epsilon", 1e-2f);
      if (opset >= 14) a.set("training_mode", int64_t(0));
      auto out = run_op({.op = "BatchNormalization", .inputs = {x, s, b, m, v}, .attrs = a,
                         .opset = opset});
      SCOPED_TRACE(opset);
      expect_close(out[0], bn_ref(to_doubles(x), c, spatial, to_doubles(s), to_doubles(b),
                                  to_doubles(m), to_doubles(v), 1e-2f),
                   1e-5, 1e-5);
    }
  }
}

TEST(NormBatchNorm, MixedDtypesOpset15) {
  Tensor x = random_tensor(DType::kF16, {2, 3, 4}, 45);
  Tensor s = random_tensor(DType::kF32, {3}, 46);
  Tensor b = random_tensor(DType::kF32, {3}, 47);
  Tensor m = random_tensor(DType::kF64, {3}, 48);
  Tensor v = random_tensor(DType::kF64, {3}, 49, 0.5, 1.0);
  auto out = run_op({.op = "BatchNormalization", .inputs = {x, s, b, m, v}, .opset = 15});
  EXPECT_EQ(out[0].dtype(), DType::kF16);
  expect_close(out[0], bn_ref(to_doubles(x), 3, 4, to_doubles(s), to_doubles(b), to_doubles(m),
                              to_doubles(v), 1e-5),
               4e-3, 4e-3);
  // Before opset 15 all inputs share X's type.
  EXPECT_EQ(error_code_of({.op = "BatchNormalization", .inputs = {x, s, b, m, v}, .opset = 14}),
            ErrorCode::kInvalidModel);
}

TEST(NormBatchNorm, TrainingIsUnsupported) {
  Tensor x = random_tensor(DType::kF32, {2, 3}, 50);
  Tensor p = random_tensor(DType::kF32, {3}, 51, 0.5, 1.0);
  Attributes a;
  a.set("training_mode", int64_t(1));
  EXPECT_EQ(error_code_of({.op = "BatchNormalization", .inputs = {x, p, p, p, p}, .attrs = a,
                      .num_outputs = 3}),
            ErrorCode::kUnsupported);
  // Opset 13 (BatchNormalization-9): extra outputs mean training.
  EXPECT_EQ(error_code_of({.op = "BatchNormalization", .inputs = {x, p, p, p, p}, .opset = 13,
                      .num_outputs = 5}),
            ErrorCode::kUnsupported);
  Tensor bad = random_tensor(DType::kF32, {4}, 52);
  EXPECT_EQ(error_code_of({.op = "BatchNormalization", .inputs = {x, p, p, bad, p}}),
            ErrorCode::kInvalidModel);
}

TEST(NormGroupNorm, Shapes) {
  for (auto [dims, groups] : {std::pair{Dims{2, 6, 5, 3}, int64_t(3)}, {Dims{1, 4, 17}, 4},
                              {Dims{3, 8, 7}, 1}, {Dims{2, 2}, 2}}) {
    Tensor x = random_tensor(DType::kF32, dims, 60, -2.0, 5.0);
    Tensor s = random_tensor(DType::kF32, {groups}, 61, 0.5, 2.0);
    Tensor b = random_tensor(DType::kF32, {groups}, 62);
    Attributes a;
    a.set("num_groups", groups);
    a.set("epsilon", 1e-4f);
    auto out = run_op({.op = "GroupNormalization", .inputs = {x, s, b}, .attrs = a, .opset = 18});
    int64_t len = numel_of(dims) / (dims[0] * groups);
    SCOPED_TRACE(dims_to_string(dims));
    expect_close(out[0], group_ref(to_doubles(x), len, to_doubles(s), to_doubles(b), 1e-4), 1e-5,
                 1e-5);
  }
}

TEST(NormGroupNorm, Errors) {
  Tensor x = random_tensor(DType::kF32, {2, 6, 5}, 63);
  Tensor s = random_tensor(DType::kF32, {4}, 64);
  Attributes a;
  a.set("num_groups", int64_t(4));  // 6 channels do not split into 4 groups
  EXPECT_EQ(error_code_of({.op = "GroupNormalization", .inputs = {x, s, s}, .attrs = a, .opset = 18}),
            ErrorCode::kInvalidModel);
  Tensor s3 = random_tensor(DType::kF32, {3}, 65);
  EXPECT_EQ(error_code_of({.op = "GroupNormalization", .inputs = {x, s3, s3}, .attrs = a, .opset = 17}),
            ErrorCode::kInvalidModel);
  a.set("num_groups", int64_t(3));
  // Scale per channel ([C]) is the opset-21 form, not valid at 18.
  Tensor s6 = random_tensor(DType::kF32, {6}, 66);
  EXPECT_EQ(error_code_of({.op = "GroupNormalization", .inputs = {x, s6, s6}, .attrs = a, .opset = 18}),
            ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of({.op = "GroupNormalization", .inputs = {x, s3, s3}, .attrs = a, .opset = 21}),
            ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace kiln::test
