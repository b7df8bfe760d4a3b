#include "io/portable_sigmoid.h"

namespace kiln {

// Two builds of the loop, picked once at load time (an ifunc): one where the CPU has FMA (the
// fma calls become instructions, ~10x faster), one for every x86-64.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
__attribute__((target_clones("fma", "default")))
#endif
void portable_sigmoid_n(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = portable_sigmoid(x[i]);
}

}  // namespace kiln
