// gelu_erf_fast.h (the fp16 GPU kernels' short erf GELU) against x * Phi(x) in double: the error
// bounds its header states, on a dense grid and at the values where its pieces meet.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ops/elementwise/gelu_erf_fast.h"

namespace kiln {
namespace {

double gelu_exact(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }

TEST(GeluErfFast, ErrorBound) {
  double worst_abs = 0, worst_rel_x = 0;
  for (int64_t i = -4000000; i <= 4000000; ++i) {  // [-40, 40] in steps of 1e-5
    const float x = float(double(i) * 1e-5);
    const double gap = std::fabs(double(ew::gelu_erf_fast(x)) - gelu_exact(x));
    worst_abs = std::max(worst_abs, gap);
    if (x != 0) worst_rel_x = std::max(worst_rel_x, gap / std::fabs(double(x)));
  }
  EXPECT_LE(worst_abs, 4.5e-7);
  EXPECT_LE(worst_rel_x, 7.5e-7);
  for (float x : {0.f, -0.f, 5.999f, 6.f, 6.001f, -6.f, 100.f, -100.f, 65504.f, -65504.f, 1e30f, -1e30f})
    EXPECT_NEAR(ew::gelu_erf_fast(x), gelu_exact(x), 4.5e-7 * std::max(1.f, std::fabs(x))) << x;
}

TEST(GeluErfFast, Specials) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(ew::gelu_erf_fast(inf), inf);
  EXPECT_TRUE(std::isnan(ew::gelu_erf_fast(-inf)));  // -inf * Phi(-inf) = -inf * 0, as the reference
  EXPECT_TRUE(std::isnan(ew::gelu_erf_fast(std::numeric_limits<float>::quiet_NaN())));
}

}  // namespace
}  // namespace kiln
