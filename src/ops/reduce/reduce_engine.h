// The generic reduction loop behind every Reduce* op. An Op supplies an accumulator:
//   Acc init(); void add(Acc&, C x); void merge(Acc&, const Acc&); C fin(const Acc&, count)
// with C = compute_t<T>. The tensor is viewed as alternating groups of kept and reduced axes
// (size-1 axes dropped, neighbours of the same kind merged), and one of two loops runs:
//   last group reduced: each output reduces contiguous runs (e.g. ReduceMean over the last axis)
//   last group kept:    each output row accumulates contiguous rows elementwise (vectorizable).
#pragma once
#include <algorithm>
#include <vector>

#include "ops/reduce/reduce_common.h"

namespace kiln::reduce {

struct AxisGroup {
  int64_t size = 1;
  int64_t stride = 1;  // in elements of the input
  bool reduced = false;
};

// Merged groups of dims (never empty: a tensor of one element gives one reduced group).
std::vector<AxisGroup> merge_axis_groups(const Dims& dims, const std::vector<bool>& mask);
// Input offsets of every index combination over groups, row-major (one offset, 0, if none).
std::vector<int64_t> group_offsets(const std::vector<AxisGroup>& groups);

// Input offset of the i-th (row-major) index combination over groups.
inline int64_t offset_of(const std::vector<AxisGroup>& groups, int64_t i) {
  int64_t off = 0;
  for (size_t g = groups.size(); g-- > 0;) {
    off += (i % groups[g].size) * groups[g].stride;
    i /= groups[g].size;
  }
  return off;
}

inline constexpr int64_t kReduceGrain = 32768;  // elements a thread should at least read

// Adds n contiguous elements into four independent accumulators (breaks the add latency chain).
template <class Op, class T>
inline void accumulate_run(typename Op::Acc (&lanes)[4], const T* p, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    Op::add(lanes[0], to_compute(p[i]));
    Op::add(lanes[1], to_compute(p[i + 1]));
    Op::add(lanes[2], to_compute(p[i + 2]));
    Op::add(lanes[3], to_compute(p[i + 3]));
  }
  for (; i < n; ++i) Op::add(lanes[0], to_compute(p[i]));
}

// y (shape: dims with masked axes reduced) = reduction of x over the masked axes.
template <class Op, class T>
void reduce_run(const T* x, T* y, const Dims& dims, const std::vector<bool>& mask) {
  using Acc = typename Op::Acc;
  int64_t count = 1, out_n = 1;
  for (size_t i = 0; i < dims.size(); ++i) (mask[i] ? count : out_n) *= dims[i];
  if (out_n == 0) return;
  if (count == 0) {  // reducing an empty set: the op's identity (or NaN/inf per the spec)
    std::fill(y, y + out_n, from_compute<T>(Op::fin(Op::init(), 0)));
    return;
  }
  std::vector<AxisGroup> groups = merge_axis_groups(dims, mask);
  const AxisGroup last = groups.back();
  groups.pop_back();
  std::vector<AxisGroup> kept, red;
  for (const AxisGroup& g : groups) (g.reduced ? red : kept).push_back(g);
  const std::vector<int64_t> offs = group_offsets(red);
  const int64_t len = last.size;

  if (last.reduced) {
    parallel_for(out_n, std::max<int64_t>(1, kReduceGrain / count), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const T* base = x + offset_of(kept, o);
        Acc lanes[4] = {Op::init(), Op::init(), Op::init(), Op::init()};
        for (int64_t off : offs) accumulate_run<Op>(lanes, base + off, len);
        Op::merge(lanes[0], lanes[1]);
        Op::merge(lanes[2], lanes[3]);
        Op::merge(lanes[0], lanes[2]);
        y[o] = from_compute<T>(Op::fin(lanes[0], count));
      }
    });
    return;
  }

  const int64_t rows = out_n / len;
  const int64_t chunks = (len + kColumnChunk - 1) / kColumnChunk;
  const int64_t work = count * std::min(len, kColumnChunk);
  parallel_for(rows * chunks, std::max<int64_t>(1, kReduceGrain / work), [&](int64_t b, int64_t e) {
    Acc acc[kColumnChunk];
    for (int64_t item = b; item < e; ++item) {
      const int64_t row = item / chunks, c0 = (item % chunks) * kColumnChunk;
      const int64_t n = std::min(kColumnChunk, len - c0);
      const T* base = x + offset_of(kept, row) + c0;
      for (int64_t i = 0; i < n; ++i) acc[i] = Op::init();
      for (int64_t off : offs) {
        const T* src = base + off;
        for (int64_t i = 0; i < n; ++i) Op::add(acc[i], to_compute(src[i]));
      }
      T* dst = y + row * len + c0;
      for (int64_t i = 0; i < n; ++i) dst[i] = from_compute<T>(Op::fin(acc[i], count));
    }
  });
}

}  // namespace kiln::reduce
