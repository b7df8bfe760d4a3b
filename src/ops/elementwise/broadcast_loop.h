// Loops over N inputs broadcast to one output, in contiguous runs of the output.
//
// The output's axes of size 1 are dropped and neighbouring axes merged wherever every input
// is either contiguous across both or broadcast along both. What is left is usually short:
// same shapes collapse to one axis, x[N,C,H,W] + b[C,1,1] to [N, C, H*W] with b's strides
// [0, 1, 0]. Along the innermost axis each input's stride is then 0 (one value repeated) or
// 1 (contiguous), so the per-element loops below specialise on those two cases and vectorise.
#pragma once
#include <algorithm>
#include <array>
#include <type_traits>

#include "ops/elementwise/elementwise_util.h"

namespace kiln::ew {

template <size_t N> struct BroadcastPlan {
  Dims dims;                     // collapsed output dims, at least one axis
  std::array<Dims, N> strides;   // element strides of each input along those axes
  int64_t numel = 0;

  int64_t inner_stride(size_t k) const { return strides[k].back(); }
};

template <size_t N>
BroadcastPlan<N> make_plan(const Dims& out, const std::array<const Dims*, N>& ins) {
  BroadcastPlan<N> p;
  p.numel = numel_of(out);
  std::array<Dims, N> full;
  for (size_t k = 0; k < N; ++k) full[k] = broadcast_strides(*ins[k], out);
  for (size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1) continue;
    bool merge = !p.dims.empty();
    for (size_t k = 0; k < N && merge; ++k) merge = p.strides[k].back() == full[k][d] * out[d];
    if (merge) {
      p.dims.back() *= out[d];
      for (size_t k = 0; k < N; ++k) p.strides[k].back() = full[k][d];
    } else {
      p.dims.push_back(out[d]);
      for (size_t k = 0; k < N; ++k) p.strides[k].push_back(full[k][d]);
    }
  }
  if (p.dims.empty()) {  // every axis is 1: a single element
    p.dims.push_back(1);
    for (size_t k = 0; k < N; ++k) p.strides[k].push_back(0);
  }
  // Axes after the innermost kept one are all 1, so an input is contiguous or repeated there.
  for (size_t k = 0; k < N; ++k) KILN_ASSERT(p.inner_stride(k) == 0 || p.inner_stride(k) == 1);
  return p;
}

// Calls run(out_pos, in_offsets, len) for each contiguous run of output positions in
// [begin, end); input k's elements for the run start at in_offsets[k] with stride
// p.inner_stride(k).
template <size_t N, class Run>
void for_each_run(const BroadcastPlan<N>& p, int64_t begin, int64_t end, Run&& run) {
  const int r = int(p.dims.size());
  Dims coord(size_t(r), 0);
  std::array<int64_t, N> off{};
  int64_t rem = begin;
  for (int d = r - 1; d >= 0; --d) {
    coord[size_t(d)] = rem % p.dims[size_t(d)];
    rem /= p.dims[size_t(d)];
    for (size_t k = 0; k < N; ++k) off[k] += coord[size_t(d)] * p.strides[k][size_t(d)];
  }
  const int64_t inner = p.dims.back();
  int64_t pos = begin;
  while (pos < end) {
    int64_t len = std::min(inner - coord.back(), end - pos);
    run(pos, off, len);
    pos += len;
    for (size_t k = 0; k < N; ++k) off[k] += len * p.inner_stride(k);
    coord.back() += len;
    for (int d = r - 1; d > 0 && coord[size_t(d)] == p.dims[size_t(d)]; --d) {
      for (size_t k = 0; k < N; ++k) off[k] -= coord[size_t(d)] * p.strides[k][size_t(d)];
      coord[size_t(d)] = 0;
      ++coord[size_t(d - 1)];
      for (size_t k = 0; k < N; ++k) off[k] += p.strides[k][size_t(d - 1)];
    }
  }
}

inline constexpr int64_t kMinChunk = 1 << 14;

template <size_t N, class Run> void parallel_runs(const BroadcastPlan<N>& p, Run&& run) {
  parallel_for(p.numel, kMinChunk,
               [&](int64_t b, int64_t e) { for_each_run(p, b, e, run); });
}

template <int64_t S> using Stride = std::integral_constant<int64_t, S>;

// out[i] = op(a[i], b[i]) over the broadcast of a and b to out's dims. op takes the compute
// types (float for f16/bf16) and returns TO's compute type or TO itself.
template <class TA, class TB, class TO, class Op>
void binary_map(const Tensor& a, const Tensor& b, Tensor& out, Op op) {
  BroadcastPlan<2> p = make_plan<2>(out.dims(), {&a.dims(), &b.dims()});
  const TA* pa = a.data<TA>();
  const TB* pb = b.data<TB>();
  TO* po = out.data<TO>();
  const int64_t sa = p.inner_stride(0), sb = p.inner_stride(1);
  parallel_runs(p, [&](int64_t o, const std::array<int64_t, 2>& in, int64_t len) {
    const TA* x = pa + in[0];
    const TB* y = pb + in[1];
    TO* z = po + o;
    auto loop = [&](auto SA, auto SB) {
      for (int64_t i = 0; i < len; ++i)
        z[i] = to_storage<TO>(op(load(x[i * SA.value]), load(y[i * SB.value])));
    };
    if (sa && sb) loop(Stride<1>{}, Stride<1>{});
    else if (sa) loop(Stride<1>{}, Stride<0>{});
    else if (sb) loop(Stride<0>{}, Stride<1>{});
    else loop(Stride<0>{}, Stride<0>{});
  });
}

// out[i] = op(in[i]) elementwise over same-shaped tensors.
template <class TI, class TO, class Op> void unary_map(const Tensor& in, Tensor& out, Op op) {
  const TI* x = in.data<TI>();
  TO* z = out.data<TO>();
  parallel_for(in.numel(), kMinChunk, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) z[i] = to_storage<TO>(op(load(x[i])));
  });
}

}  // namespace kiln::ew
