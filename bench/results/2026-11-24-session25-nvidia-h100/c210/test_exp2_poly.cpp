// exp2_approx.h's exp2_poly (the FMA-pipe 2^t of the flash loop) against std::exp2 in double:
// the relative error its header states over the range the softmax feeds it, and tiny positive
// values (never NaN, never a wrapped exponent) where t falls off the bottom.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "runtime/cuda/exp2_approx.h"

namespace kiln {
namespace {

TEST(Exp2Poly, RelativeErrorBound) {
  double worst = 0;
  float worst_t = 0;
  for (int64_t i = -12500000; i <= 1200000; ++i) {  // [-125, 12] in steps of 1e-5
    const float t = float(double(i) * 1e-5);
    const double want = std::exp2(double(t)), rel = std::fabs(double(cuda::exp2_poly(t)) - want) / want;
    if (rel > worst) worst = rel, worst_t = t;
  }
  EXPECT_LE(worst, 7.6e-5) << "at t = " << worst_t;
  // Integers are where n moves: 2^n exactly but for the polynomial's value at 0.
  for (int n = -125; n <= 127; ++n) EXPECT_NEAR(cuda::exp2_poly(float(n)) / std::exp2(double(n)), 1.0, 7.6e-5) << n;
}

TEST(Exp2Poly, BelowTheRangeIsTiny) {
  const float inf = std::numeric_limits<float>::infinity();
  for (float t : {-inf, -1e30f, -1000.f, -127.f, -126.6f, -126.5f, -126.4f, -126.f, -125.5f, -125.1f}) {
    const float r = cuda::exp2_poly(t);
    EXPECT_GE(r, 0.f) << t;  // false for NaN too
    EXPECT_LT(r, std::exp2(-124.f)) << t;
  }
}

}  // namespace
}  // namespace kiln
