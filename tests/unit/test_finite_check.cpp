#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "io/finite_check.h"

namespace kiln {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// {1, NaN, 2, -Inf, Inf, -0.5} in `dtype`, through the same conversions the ops use.
Tensor mixed(DType dtype) {
  const std::vector<double> values = {1, kNaN, 2, -kInf, kInf, -0.5};
  Tensor t(dtype, {int64_t(values.size())});
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T>)
      for (size_t i = 0; i < values.size(); ++i) t.data<T>()[i] = from_double<T>(values[i]);
  });
  return t;
}

TEST(FiniteCheck, CountsNaNAndInfInEveryFloatDType) {
  for (DType dt : {DType::kF32, DType::kF64, DType::kF16, DType::kBF16}) {
    NonFinite r = find_non_finite(mixed(dt));
    EXPECT_EQ(r.count, 3) << dtype_name(dt);
    EXPECT_EQ(r.first, 1) << dtype_name(dt);
  }
}

TEST(FiniteCheck, LargeAndTinyFiniteValuesPass) {
  // The largest finite f16 (65504) and bf16, and subnormals, sit next to the Inf/NaN bit patterns.
  Tensor h = Tensor::from_vector<f16>({3}, {f16{0x7bff}, f16{0xfbff}, f16{0x0001}});
  EXPECT_EQ(find_non_finite(h).count, 0);
  Tensor b = Tensor::from_vector<bf16>({3}, {bf16{0x7f7f}, bf16{0xff7f}, bf16{0x0001}});
  EXPECT_EQ(find_non_finite(b).count, 0);
  using F = std::numeric_limits<float>;
  Tensor f = Tensor::from_vector<float>({2}, {F::max(), F::denorm_min()});
  NonFinite r = find_non_finite(f);
  EXPECT_EQ(r.count, 0);
  EXPECT_EQ(r.first, -1);
}

TEST(FiniteCheck, IntegerTensorsHoldNone) {
  EXPECT_EQ(find_non_finite(Tensor::from_vector<int64_t>({2}, {-1, std::numeric_limits<int64_t>::max()})).count, 0);
  EXPECT_EQ(find_non_finite(Tensor(DType::kBool, {4})).count, 0);
}

}  // namespace
}  // namespace kiln
