#include "ops/reduce/exp_nonpositive.h"

#include <bit>
#include <cmath>

namespace kiln::reduce {
namespace {

constexpr double kMin = -708.0;  // exp(-708) is still a normal double

// Branch-free so the compiler vectorizes it. Arguments below kMin (subnormal or zero results)
// and NaN produce garbage here; exp_nonpositive_avx2 recomputes them with std::exp.
[[gnu::always_inline]] inline void exp_poly(const double* __restrict d, double* __restrict out,
                                            int64_t n) {
  constexpr double kLog2e = 1.4426950408889634;
  // ln 2 split in two (fdlibm's constants): k * kLn2Hi is exact for |k| < 2^11.
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  // Adding 1.5 * 2^52 rounds to an integer and leaves it in the low mantissa bits.
  constexpr double kShifter = 6755399441055744.0;
  for (int64_t i = 0; i < n; ++i) {
    const double x = d[i];
    const double shifted = x * kLog2e + kShifter;
    const double k = shifted - kShifter;              // round(x / ln 2), in [-1022, 0]
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
}

[[gnu::target("avx2,fma")]] void exp_avx2_impl(const double* d, double* out, int64_t n) {
  exp_poly(d, out, n);
  for (int64_t i = 0; i < n; ++i)
    if (!(d[i] >= kMin)) out[i] = std::exp(d[i]);  // tiny results, -inf, NaN
}

using ExpFn = void (*)(const double*, double*, int64_t);

ExpFn pick_exp() {
  return exp_avx2_available() ? exp_nonpositive_avx2 : exp_nonpositive_libm;
}

}  // namespace

bool exp_avx2_available() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

void exp_nonpositive_libm(const double* d, double* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = std::exp(d[i]);
}

void exp_nonpositive_avx2(const double* d, double* out, int64_t n) { exp_avx2_impl(d, out, n); }

void exp_nonpositive(const double* d, double* out, int64_t n) {
  static const ExpFn fn = pick_exp();
  fn(d, out, n);
}

}  // namespace kiln::reduce
