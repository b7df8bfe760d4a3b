// Unsigned 32-bit division by a divisor fixed ahead of time, as a multiply-high, an add and two
// shifts instead of the ~20 instructions a GPU spends on n / d for a d it only learns at run time
// (ncu, c122: LayerNormPatchRows spent most of its issue slots on its row map's six divisions).
// Granlund and Montgomery's round-up method ("Division by invariant integers using
// multiplication", 1994, figure 4.1): with l = ceil(log2 d) and m = floor(2^32 (2^l - d) / d) + 1,
//   t = mulhi(m, n),  n / d = (t + ((n - t) >> min(l, 1))) >> max(l - 1, 0)
// for every n < 2^32 and 1 <= d < 2^32. Host and device, so the CPU reference computes the same.
#pragma once
#include <cstdint>

#ifdef __CUDACC__
#define KILN_DIV_HD __host__ __device__ __forceinline__
#else
#define KILN_DIV_HD inline
#endif

namespace kiln::norm {

struct InvariantDivisor {
  uint32_t m = 1, s1 = 0, s2 = 0;  // the default divides by 1

  InvariantDivisor() = default;
  KILN_DIV_HD explicit InvariantDivisor(uint32_t divisor) {
    uint32_t l = 0;
    while (l < 32 && (uint64_t(1) << l) < divisor) ++l;
    m = uint32_t(((uint64_t(1) << 32) * ((uint64_t(1) << l) - divisor)) / divisor + 1);
    s1 = l < 1 ? l : 1;
    s2 = l > 1 ? l - 1 : 0;
  }
  KILN_DIV_HD uint32_t div(uint32_t n) const {
#ifdef __CUDA_ARCH__
    const uint32_t t = __umulhi(m, n);
#else
    const uint32_t t = uint32_t((uint64_t(m) * n) >> 32);
#endif
    return (t + ((n - t) >> s1)) >> s2;
  }
};

}  // namespace kiln::norm
