// exp() over arrays of arguments <= 0, as softmax needs after subtracting the row maximum.
// libm's exp is an opaque call per element and dominated softmax time; on CPUs with AVX2 and
// FMA a vectorized polynomial (a few ulp of double, far below the rounding of any output
// type) runs about six times faster. Other CPUs use std::exp.
#pragma once
#include <cstdint>

namespace kiln::reduce {

// out[i] = exp(d[i]) for d[i] <= 0 (positive arguments are out of contract); out must not
// alias d. Picks the variant for this CPU once.
void exp_nonpositive(const double* d, double* out, int64_t n);

// The variants, for tests: std::exp per element, and the AVX2/FMA polynomial (call it only
// when exp_avx2_available()).
void exp_nonpositive_libm(const double* d, double* out, int64_t n);
void exp_nonpositive_avx2(const double* d, double* out, int64_t n);
bool exp_avx2_available();

}  // namespace kiln::reduce
