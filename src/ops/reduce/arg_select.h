// Index of the largest (or smallest) element along an axis, shared by ArgMax/ArgMin and
// Hardmax. NaN counts as the extreme value, as numpy's argmax/argmin do: the first NaN wins
// (the last one with select_last_index).
#pragma once
#include <algorithm>

#include "ops/reduce/reduce_common.h"

namespace kiln::reduce {

template <bool kMax, bool kLast, class V> inline bool beats(V v, V best) {
  if constexpr (kLast) {
    if constexpr (kMax) return v >= best || is_nan(v);
    else return v <= best || is_nan(v);
  } else {
    if constexpr (kMax) return v > best || (is_nan(v) && !is_nan(best));
    else return v < best || (is_nan(v) && !is_nan(best));
  }
}

// idx[o * inner + i] = winning index along the axis of view v (axis_len must be > 0).
// Columns are processed in chunks so every comparison pass is contiguous.
template <bool kMax, bool kLast, class T>
void arg_select(const T* x, int64_t* idx, const AxisView& v) {
  using V = cmp_t<T>;
  const int64_t chunks = (v.inner + kColumnChunk - 1) / kColumnChunk;
  const int64_t work = v.axis_len * std::min(v.inner, kColumnChunk);
  parallel_for(v.outer * chunks, std::max<int64_t>(1, 32768 / work), [&](int64_t b, int64_t e) {
    V best[kColumnChunk];
    int64_t at[kColumnChunk];
    for (int64_t item = b; item < e; ++item) {
      const int64_t o = item / chunks, c0 = (item % chunks) * kColumnChunk;
      const int64_t n = std::min(kColumnChunk, v.inner - c0);
      const T* base = x + o * v.axis_len * v.inner + c0;
      for (int64_t i = 0; i < n; ++i) {
        best[i] = to_cmp(base[i]);
        at[i] = 0;
      }
      for (int64_t a = 1; a < v.axis_len; ++a) {
        const T* src = base + a * v.inner;
        for (int64_t i = 0; i < n; ++i) {
          V val = to_cmp(src[i]);
          if (beats<kMax, kLast>(val, best[i])) {
            best[i] = val;
            at[i] = a;
          }
        }
      }
      std::copy(at, at + n, idx + o * v.inner + c0);
    }
  });
}

}  // namespace kiln::reduce
