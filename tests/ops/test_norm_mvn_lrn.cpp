// MeanVarianceNormalization and LRN against naive references.
#include <cmath>
#include <map>

#include "harness.h"

// OpCall is filled with designated initializers; omitted members are meant to default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace kiln::test {
namespace {

// MVN on a 4-D tensor over the axes flagged in `red`.
std::vector<double> mvn_ref(const std::vector<double>& x, const Dims& d, const std::vector<int>& red) {
  auto key = [&](size_t i) {
    Dims idx(4);
    for (int k = 3; k >= 0; --k) {
      idx[size_t(k)] = int64_t(i) % d[size_t(k)];
      i /= size_t(d[size_t(k)]);
    }
    int64_t h = 0;
    for (size_t k = 0; k < 4; ++k) h = h * d[k] + (red[k] ? 0 : idx[k]);
    return h;
  };
  std::map<int64_t, double> sum, cnt, sq;
  for (size_t i = 0; i < x.size(); ++i) {
    sum[key(i)] += x[i];
    cnt[key(i)] += 1;
  }
  for (size_t i = 0; i < x.size(); ++i) sq[key(i)] += std::pow(x[i] - sum[key(i)] / cnt[key(i)], 2);
  std::vector<double> y;
  for (size_t i = 0; i < x.size(); ++i) {
    int64_t k = key(i);
    y.push_back((x[i] - sum[k] / cnt[k]) / (std::sqrt(sq[k] / cnt[k]) + 1e-9));
  }
  return y;
}

TEST(NormMvn, DefaultAndCustomAxes) {
  Dims d{3, 4, 5, 7};
  Tensor x = random_tensor(DType::kF32, d, 70, -1.0, 3.0);
  auto xd = to_doubles(x);
  auto out = run_op({.op = "MeanVarianceNormalization", .inputs = {x}, .opset = 13});
  expect_close(out[0], mvn_ref(xd, d, {1, 0, 1, 1}), 1e-5, 1e-5);
  Attributes a;
  a.set("axes", std::vector<int64_t>{-1, 1});
  out = run_op({.op = "MeanVarianceNormalization", .inputs = {x}, .attrs = a, .opset = 13});
  expect_close(out[0], mvn_ref(xd, d, {0, 1, 0, 1}), 1e-5, 1e-5);
  a.set("axes", std::vector<int64_t>{4});
  EXPECT_EQ(error_code_of({.op = "MeanVarianceNormalization", .inputs = {x}, .attrs = a}),
            ErrorCode::kInvalidModel);
  a.set("axes", std::vector<int64_t>{1, -3});
  EXPECT_EQ(error_code_of({.op = "MeanVarianceNormalization", .inputs = {x}, .attrs = a}),
            ErrorCode::kInvalidModel);
}

std::vector<double> lrn_ref(const std::vector<double>& x, const Dims& d, int64_t size,
                            double alpha, double beta, double bias) {
  int64_t c = d[1], sp = int64_t(x.size()) / (d[0] * c);
  std::vector<double> y(x.size());
  for (int64_t n = 0; n < d[0]; ++n)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t s = 0; s < sp; ++s) {
        double sq = 0;
        for (int64_t k = ch - (size - 1) / 2; k <= ch + size / 2; ++k)
          if (k >= 0 && k < c) sq += std::pow(x[size_t((n * c + k) * sp + s)], 2);
        size_t i = size_t((n * c + ch) * sp + s);
        y[i] = x[i] / std::pow(bias + alpha / double(size) * sq, beta);
      }
  return y;
}

TEST(NormLrn, SizesAndAttributes) {
  Dims d{2, 7, 3, 5};
  Tensor x = random_tensor(DType::kF32, d, 71, -4.0, 4.0);
  auto xd = to_doubles(x);
  for (int64_t size : {1, 2, 3, 4, 5, 9}) {
    Attributes a;
    a.set("size", size);
    a.set("alpha", 0.02f);
    a.set("beta", 0.6f);
    a.set("bias", 2.0f);
    auto out = run_op({.op = "LRN", .inputs = {x}, .attrs = a, .opset = 13});
    SCOPED_TRACE(size);
    expect_close(out[0], lrn_ref(xd, d, size, 0.02f, 0.6f, 2.0f), 1e-5, 1e-5);
  }
  Attributes a;
  a.set("size", int64_t(3));
  auto out = run_op({.op = "LRN", .inputs = {x}, .attrs = a, .opset = 13});
  expect_close(out[0], lrn_ref(xd, d, 3, 1e-4f, 0.75f, 1.0f), 1e-6, 1e-6);
  EXPECT_EQ(error_code_of({.op = "LRN", .inputs = {x}}), ErrorCode::kInvalidModel);  // size missing
}

}  // namespace
}  // namespace kiln::test
