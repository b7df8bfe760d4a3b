// The value read of AnchorDETR's row-column attention as its export computes it
// (passes/fuse_row_column_read.h draws it), built in code with knobs for the variants the pass
// must accept and the ones it must refuse. Shared by the pass tests and the GPU tests (the
// encoder/decoder benchmark).
//
//   s_col [B, N, L, H] ─▶ Softmax ─▶ a_col ─┐
//   v [B, N, H, W, D] ─▶ Reshape [B, N, H, W·D] ─▶ MatMul ─▶ prod ─▶ Reshape [B, N, L, W, D] ─▶ split ─┐
//   s_row [B, N, L, W] ─▶ Softmax ─▶ a_row ─▶ Unsqueeze(-2) ─▶ unsq ─────────────────────────────────MatMul ─▶ m3 ─▶ Squeeze(3) ─▶ out
//
// N (heads) = 0 drops the heads axis (rank 3), B = 0 too (rank 2: no batch dims).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "onnx_builder.h"

namespace kiln::test {

struct RowColumnLayer {
  int64_t B = 2, N = 3, L = 7, H = 5, W = 6, D = 4;
  DType dt = DType::kF32;
  int64_t unsqueeze_axis = -2;    // of rank r + 1
  std::optional<int64_t> squeeze_axis;  // of rank r + 1; default r - 1, positive as exported
  bool squeeze_without_axes = false;
  bool row_shared_by_heads = false;  // s_row [B, 1, L, W]: MatMul broadcasts it over the heads
  bool v_shared_by_batch = false;    // v [1, N, H, W, D]: MatMul broadcasts it over the batch
  bool split_collapses_rows = false; // the split Reshape gives [.., 1, W, L·D]: MatMul broadcasts a_row over it
  bool row_rows_first = false;       // s_row [B, L, 1, W] (N must be 1), for Unsqueeze on axis 1
  std::string also_output;           // an intermediate that is also a graph output
};

inline Tensor i64s(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

// The leading dims [B, N] as the layer has them (B or N 0: absent).
inline std::vector<int64_t> lead(const RowColumnLayer& s) {
  std::vector<int64_t> d;
  if (s.B > 0) d.push_back(s.B);
  if (s.N > 0) d.push_back(s.N);
  return d;
}

inline std::vector<int64_t> with(std::vector<int64_t> d, std::initializer_list<int64_t> tail) {
  d.insert(d.end(), tail);
  return d;
}

inline std::string build(const RowColumnLayer& s) {
  ModelBuilder b(17);
  const std::vector<int64_t> p = lead(s);
  std::vector<int64_t> row_lead = p, v_lead = p;
  if (s.row_shared_by_heads) row_lead.back() = 1;
  std::vector<int64_t> row_dims = with(row_lead, {s.L, s.W});
  if (s.row_rows_first) row_dims = {s.B, s.L, 1, s.W};
  if (s.v_shared_by_batch) v_lead.front() = 1;
  b.input("s_col", s.dt, with(p, {s.L, s.H}));
  b.input("s_row", s.dt, row_dims);
  b.input("v", s.dt, with(v_lead, {s.H, s.W, s.D}));
  b.initializer("v_shape", i64s(with(v_lead, {s.H, s.W * s.D})));
  std::vector<int64_t> split = with(p, {s.L, s.W, s.D});
  if (s.split_collapses_rows) split = with(p, {1, s.W, s.L * s.D});
  b.initializer("split_shape", i64s(split));
  const int64_t r1 = int64_t(p.size()) + 3;  // rank of unsq / m3
  set_int_attr(b.node("Softmax", {"s_col"}, {"a_col"}), "axis", -1);
  set_int_attr(b.node("Softmax", {"s_row"}, {"a_row"}), "axis", -1);
  b.node("Reshape", {"v", "v_shape"}, {"v2"});
  b.node("MatMul", {"a_col", "v2"}, {"prod"});
  b.node("Reshape", {"prod", "split_shape"}, {"split"});
  b.initializer("unsq_axes", i64s({s.unsqueeze_axis}));
  b.node("Unsqueeze", {"a_row", "unsq_axes"}, {"unsq"});
  b.node("MatMul", {"unsq", "split"}, {"m3"});
  const int64_t sq_axis = s.squeeze_axis.value_or(r1 - 2);
  if (s.squeeze_without_axes) {
    b.node("Squeeze", {"m3"}, {"out"});
  } else {
    b.initializer("sq_axes", i64s({sq_axis}));
    b.node("Squeeze", {"m3", "sq_axes"}, {"out"});
  }
  b.output("out", s.dt);
  if (!s.also_output.empty()) b.output(s.also_output, s.dt);
  return b.bytes();
}

}  // namespace kiln::test
