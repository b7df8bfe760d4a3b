// kiln.GroupNorm against a naive double reference: per-group statistics, per-channel scale and
// B, the residual Z and the activation after the sum; and its user errors.
#include <cmath>

#include "harness.h"

// OpCall is filled with designated initializers; omitted members are meant to default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace kiln::test {
namespace {

std::vector<double> reference(const std::vector<double>& x, const Dims& d, int64_t groups, const std::vector<double>& s,
                              const std::vector<double>& b, const std::vector<double>* z, const std::string& act,
                              double eps) {
  const int64_t c = d[1], planes = d[0] * groups, len = int64_t(x.size()) / planes, spatial = len / (c / groups);
  std::vector<double> y(x.size());
  for (int64_t p = 0; p < planes; ++p) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < len; ++i) m += x[size_t(p * len + i)];
    m /= double(len);
    for (int64_t i = 0; i < len; ++i) v += std::pow(x[size_t(p * len + i)] - m, 2);
    v /= double(len);
    for (int64_t i = 0; i < len; ++i) {
      const size_t k = size_t(p * len + i), ch = size_t((p % groups) * (c / groups) + i / spatial);
      double o = (x[k] - m) / std::sqrt(v + eps) * s[ch] + b[ch] + (z ? (*z)[k] : 0.0);
      if (act == "relu") o = std::max(o, 0.0);
      if (act == "gelu") o = 0.5 * o * (1 + std::erf(o / std::sqrt(2.0)));
      y[k] = o;
    }
  }
  return y;
}

OpCall call(std::vector<Tensor> inputs, int64_t groups, const std::string& act = "", float eps = 1e-5f) {
  Attributes a;
  a.set("num_groups", groups);
  a.set("epsilon", eps);
  if (!act.empty()) a.set("activation", act);
  return {.op = "GroupNorm", .inputs = std::move(inputs), .attrs = a, .domain = "kiln"};
}

TEST(NormGroupNormFused, MatchesReference) {
  struct Case {
    Dims dims;
    int64_t groups;
    std::string act;
    bool z;
  };
  for (const Case& k : {Case{{1, 6, 5, 7}, 3, "", false}, Case{{2, 8, 9}, 2, "relu", true}, Case{{2, 4, 3, 3}, 4, "gelu", true},
                        Case{{1, 32, 17, 13}, 32, "", true}, Case{{3, 5}, 1, "relu", false}}) {
    SCOPED_TRACE(dims_to_string(k.dims) + " groups " + std::to_string(k.groups) + " " + k.act);
    const int64_t c = k.dims[1];
    Tensor x = random_tensor(DType::kF32, k.dims, 40, -2.0, 5.0);
    Tensor s = random_tensor(DType::kF32, {c}, 41, 0.5, 2.0), b = random_tensor(DType::kF32, {c}, 42);
    Tensor z = random_tensor(DType::kF32, k.dims, 43);
    std::vector<Tensor> in{x, s, b};
    if (k.z) in.push_back(z);
    const std::vector<double> zd = to_doubles(z);
    auto out = run_op(call(in, k.groups, k.act, 1e-3f));
    expect_close(out[0], reference(to_doubles(x), k.dims, k.groups, to_doubles(s), to_doubles(b), k.z ? &zd : nullptr,
                                   k.act, 1e-3),
                 1e-5, 1e-5);
  }
}

TEST(NormGroupNormFused, HalfRoundsOnce) {
  const Dims d{1, 4, 6, 5};
  Tensor x = random_tensor(DType::kF16, d, 44), s = random_tensor(DType::kF16, {4}, 45), b = random_tensor(DType::kF16, {4}, 46);
  Tensor z = random_tensor(DType::kF16, d, 47);
  const std::vector<double> zd = to_doubles(z);
  auto out = run_op(call({x, s, b, z}, 2, "relu"));
  EXPECT_EQ(out[0].dtype(), DType::kF16);
  expect_close(out[0], reference(to_doubles(x), d, 2, to_doubles(s), to_doubles(b), &zd, "relu", 1e-5), 2e-3, 2e-3);
}

TEST(NormGroupNormFused, Errors) {
  Tensor x = random_tensor(DType::kF32, {1, 6, 4}, 48), s = random_tensor(DType::kF32, {6}, 49);
  Tensor b = random_tensor(DType::kF32, {6}, 50);
  EXPECT_EQ(error_code_of(call({x, s, b}, 4)), ErrorCode::kInvalidModel);  // 6 channels, 4 groups
  EXPECT_EQ(error_code_of(call({x, s, b}, 0)), ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of(call({x, random_tensor(DType::kF32, {3}, 51), b}, 3)), ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of(call({x, s, b, random_tensor(DType::kF32, {1, 6, 5}, 52)}, 3)), ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of(call({x, s, b}, 3, "swish")), ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of(call({random_tensor(DType::kF32, {6}, 53), s, b}, 3)), ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of(call({x, random_tensor(DType::kF16, {6}, 54), b}, 3)), ErrorCode::kInvalidModel);
}

}  // namespace
}  // namespace kiln::test
