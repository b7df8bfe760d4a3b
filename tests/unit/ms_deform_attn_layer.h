// One multi-scale deformable attention layer's sampling core as transformers' pure-PyTorch
// path exports it (passes/fuse_ms_deform_attn.h draws it), built in code with knobs for the
// variants the pass must accept and the ones it must refuse. Shared by the pass tests and the
// GPU tests (fused vs unfused on the GPU, the pixel-decoder benchmark).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "onnx_builder.h"

namespace kiln::test {

inline Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

inline Tensor scalar_of(DType dt, double v) {
  Tensor t(dt, {});
  if (dt == DType::kF16) t.data<f16>()[0].bits = float_to_f16(float(v));
  else t.data<float>()[0] = float(v);
  return t;
}

inline void set_string_attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

// One layer's sampling core, as the pure-PyTorch path exports it (names as in the header of
// passes/fuse_ms_deform_attn.h).
struct Layer {
  int64_t B = 2, Q = 7, H = 3, D = 5, P = 3;
  std::vector<std::pair<int64_t, int64_t>> levels = {{5, 7}, {3, 4}, {2, 3}};
  DType dt = DType::kF32;
  int opset = 17;
  std::string mode = "bilinear", padding = "zeros";
  int64_t align_corners = 0;
  double scale = 2, shift = 1;  // grid = scale * loc - shift
  bool shift_as_add = false;    // Add(·, -shift) instead of Sub(·, shift)
  bool shift_reversed = false;  // Sub(shift, scale * loc)
  bool scale_first = false;     // Mul(scale, loc)
  bool split = false;           // value split by one Split instead of a Slice per level
  bool stack = true;            // Unsqueeze + Concat(-2) + Reshape; else Concat on the last axis
  bool weights_first = false;   // Mul(weights, samples)
  std::vector<int64_t> gather;  // the grid's level index per GridSample (default l)
  int64_t reduce_axis = -1;
  std::string also_output;      // an intermediate that is also a graph output
};

inline int64_t tokens(const Layer& s) {
  int64_t n = 0;
  for (auto [h, w] : s.levels) n += h * w;
  return n;
}

inline std::string build(const Layer& s) {
  ModelBuilder b(s.opset);
  const int64_t L = int64_t(s.levels.size()), S = tokens(s), N = s.B * s.H;
  b.input("value", s.dt, {s.B, S, s.H, s.D});
  b.input("loc", s.dt, {s.B, s.Q, s.H, L, s.P, 2});
  b.input("attn", s.dt, {s.B, s.Q, s.H, L, s.P});
  // grid = 2 * loc - 1
  b.initializer("scale", scalar_of(s.dt, s.scale));
  b.node("Mul", s.scale_first ? std::vector<std::string>{"scale", "loc"} : std::vector<std::string>{"loc", "scale"},
         {"scaled"});
  b.initializer("shift", scalar_of(s.dt, s.shift_as_add ? -s.shift : s.shift));
  if (s.shift_as_add) b.node("Add", {"scaled", "shift"}, {"grid"});
  else if (s.shift_reversed) b.node("Sub", {"shift", "scaled"}, {"grid"});
  else b.node("Sub", {"scaled", "shift"}, {"grid"});
  if (s.split) {
    std::vector<int64_t> sizes;
    std::vector<std::string> outs;
    for (int64_t l = 0; l < L; ++l) {
      sizes.push_back(s.levels[size_t(l)].first * s.levels[size_t(l)].second);
      outs.push_back("v" + std::to_string(l));
    }
    b.initializer("split_sizes", i64(sizes));
    set_int_attr(b.node("Split", {"value", "split_sizes"}, outs), "axis", 1);
  }
  std::vector<std::string> stacked;
  int64_t start = 0;
  for (int64_t l = 0; l < L; ++l) {
    const std::string n = std::to_string(l);
    const auto [h, w] = s.levels[size_t(l)];
    if (!s.split) {
      b.initializer("start" + n, i64({start}));
      b.initializer("end" + n, i64({start + h * w}));
      b.initializer("axis" + n, i64({1}));
      b.node("Slice", {"value", "start" + n, "end" + n, "axis" + n}, {"v" + n});
    }
    start += h * w;
    b.initializer("merge" + n, i64({s.B, h * w, s.H * s.D}));
    b.node("Reshape", {"v" + n, "merge" + n}, {"vm" + n});
    set_ints_attr(b.node("Transpose", {"vm" + n}, {"vt" + n}), "perm", {0, 2, 1});
    b.initializer("image" + n, i64({N, s.D, h, w}));
    b.node("Reshape", {"vt" + n, "image" + n}, {"img" + n});
    const int64_t at = s.gather.empty() ? l : s.gather[size_t(l)];
    Tensor idx = Tensor::scalar<int64_t>(at);
    b.initializer("level" + n, idx);
    set_int_attr(b.node("Gather", {"grid", "level" + n}, {"gl" + n}), "axis", 3);
    set_ints_attr(b.node("Transpose", {"gl" + n}, {"gt" + n}), "perm", {0, 2, 1, 3, 4});
    b.initializer("gshape" + n, i64({N, s.Q, s.P, 2}));
    b.node("Reshape", {"gt" + n, "gshape" + n}, {"g" + n});
    onnx::NodeProto& gs = b.node("GridSample", {"img" + n, "g" + n}, {"gs" + n});
    set_string_attr(gs, "mode", s.mode);
    set_string_attr(gs, "padding_mode", s.padding);
    set_int_attr(gs, "align_corners", s.align_corners);
    if (s.stack) {
      b.initializer("stack_axis" + n, i64({-2}));
      b.node("Unsqueeze", {"gs" + n, "stack_axis" + n}, {"u" + n});
      stacked.push_back("u" + n);
    } else {
      stacked.push_back("gs" + n);
    }
  }
  if (s.stack) {
    set_int_attr(b.node("Concat", stacked, {"cat"}), "axis", -2);
    b.initializer("flat", i64({N, s.D, s.Q, L * s.P}));
    b.node("Reshape", {"cat", "flat"}, {"samples"});
  } else {
    set_int_attr(b.node("Concat", stacked, {"samples"}), "axis", -1);
  }
  set_ints_attr(b.node("Transpose", {"attn"}, {"at"}), "perm", {0, 2, 1, 3, 4});
  b.initializer("wshape", i64({N, 1, s.Q, L * s.P}));
  b.node("Reshape", {"at", "wshape"}, {"w"});
  b.node("Mul", s.weights_first ? std::vector<std::string>{"w", "samples"} : std::vector<std::string>{"samples", "w"},
         {"weighted"});
  b.initializer("reduce_axes", i64({s.reduce_axis}));
  set_int_attr(b.node("ReduceSum", {"weighted", "reduce_axes"}, {"sum"}), "keepdims", 0);
  b.initializer("oshape", i64({s.B, s.H * s.D, s.Q}));
  b.node("Reshape", {"sum", "oshape"}, {"o"});
  onnx::NodeProto& t = b.node("Transpose", {"o"}, {"out"});
  set_ints_attr(t, "perm", {0, 2, 1});
  t.set_name("output_transpose");
  b.output("out", s.dt);
  if (!s.also_output.empty()) b.output(s.also_output, s.dt);
  return b.bytes();
}

}  // namespace kiln::test
