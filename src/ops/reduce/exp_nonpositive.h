// exp() over arrays of arguments <= 0, as softmax needs after subtracting the row maximum.
// A branch-free loop the compiler vectorizes (libm's exp is an opaque call per element and
// dominates softmax time); accurate to a few ulp of double, far below the rounding of any
// output type. Arguments below -708 (subnormal or zero results) and NaN take std::exp.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

namespace kiln::reduce {

// out[i] = exp(d[i]) for d[i] <= 0 (positive arguments are out of contract); out must not
// alias d.
inline void exp_nonpositive(const double* __restrict d, double* __restrict out, int64_t n) {
  constexpr double kLog2e = 1.4426950408889634;
  // ln 2 split in two (fdlibm's constants): k * kLn2Hi is exact for |k| < 2^11.
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  // Adding 1.5 * 2^52 rounds to an integer and leaves it in the low mantissa bits.
  constexpr double kShifter = 6755399441055744.0;
  constexpr double kMin = -708.0;  // exp(-708) is still a normal double
  for (int64_t i = 0; i < n; ++i) {
    const double x = d[i];  // below kMin or NaN gives garbage here, replaced below
    const double shifted = x * kLog2e + kShifter;
    const double k = shifted - kShifter;  // round(x / ln 2), in [-1022, 0]
    const double r = (x - k * kLn2Hi) - k * kLn2Lo;  // |r| <= ln(2)/2
    // Taylor series of exp(r) to r^13: truncation error below 1e-17 for |r| <= 0.347.
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // 2^k: the low 12 bits of (bits(shifted) + 1023) are k + 1023, the biased exponent.
    const uint64_t scale_bits = (std::bit_cast<uint64_t>(shifted) + 1023) << 52;
    out[i] = p * std::bit_cast<double>(scale_bits);
  }
  for (int64_t i = 0; i < n; ++i)
    if (!(d[i] >= kMin)) out[i] = std::exp(d[i]);  // tiny results, -inf, NaN
}

}  // namespace kiln::reduce
