// The token-layout round trip around a Conv as a model built in code, for the tests of the
// passes that take it (fuse_token_dwconv, fuse_token_patch_conv). Defaults: a depthwise 3x3.
#pragma once
#include <string>
#include <vector>

#include "../ops/harness.h"
#include "onnx_builder.h"

namespace kiln::test {

inline Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

inline Tensor scalar_of(DType dt, double v) {
  if (dt == DType::kF16) return Tensor::scalar(from_double<f16>(v));
  if (dt == DType::kF64) return Tensor::scalar(v);
  return Tensor::scalar(float(v));
}

// x ─T(perm_in)─▶ t1 ─Reshape(split)─▶ r1 ─Conv─▶ c ─Reshape─▶ r2 ─T(perm_out)─▶ t2 ─tail─▶ y
struct Chain {
  int64_t B = 2, H = 5, W = 7, C = 6;
  int64_t group = 0, m = 0, w_in = 1;  // 0: C (depthwise)
  int64_t k = 3;
  std::vector<int64_t> strides = {1, 1}, pads = {1, 1, 1, 1};
  std::vector<int64_t> perm_in = {0, 2, 1}, perm_out = {0, 2, 1};
  Dims split;  // the first Reshape's target; empty: {B, C, H, W}
  bool bias = true, constant_weights = true;
  DType dt = DType::kF32;
  std::string second_use;  // an intermediate (t1, r1, c, r2) also read by a Relu → graph output "z"
  std::string as_output;   // an intermediate that is also a graph output
  std::string tail = "Relu";  // "Relu", "Sigmoid", or "gelu": the exported erf decomposition
};

inline std::string build(const Chain& ch) {
  const int64_t group = ch.group ? ch.group : ch.C, m = ch.m ? ch.m : ch.C, n = ch.H * ch.W;
  const Dims split = ch.split.empty() ? Dims{ch.B, ch.C, ch.H, ch.W} : ch.split;
  // x's dims: Transpose(perm_in) of them is [B, C, N].
  const Dims tokens = {ch.B, ch.C, n};
  Dims x(3);
  for (size_t i = 0; i < 3; ++i) x[size_t(ch.perm_in[i])] = tokens[i];
  const int64_t oh = (split[2] + ch.pads[0] + ch.pads[2] - ch.k) / ch.strides[0] + 1;
  const int64_t ow = (split[3] + ch.pads[1] + ch.pads[3] - ch.k) / ch.strides[1] + 1;

  ModelBuilder b(17);
  b.input("x", ch.dt, x).output("y", ch.dt);
  const Tensor w = random_tensor(ch.dt, {m, ch.w_in, ch.k, ch.k}, 11);
  if (ch.constant_weights) b.initializer("w", w);
  else b.input("w", ch.dt, w.dims());
  b.initializer("bias", random_tensor(ch.dt, {m}, 12));
  // [B, M, OH*OW] when the split kept the batch (a wrong split keeps at least the element count).
  b.initializer("split", i64(split)).initializer("merge", i64({ch.B, m, split[0] * oh * ow / ch.B}));
  set_ints_attr(b.node("Transpose", {"x"}, {"t1"}), "perm", ch.perm_in);
  b.node("Reshape", {"t1", "split"}, {"r1"});
  std::vector<std::string> conv_in = {"r1", "w"};
  if (ch.bias) conv_in.push_back("bias");
  onnx::NodeProto& conv = b.node("Conv", conv_in, {"c"});
  conv.set_name("dwconv");
  set_int_attr(conv, "group", group);
  set_ints_attr(conv, "kernel_shape", {ch.k, ch.k});
  set_ints_attr(conv, "strides", ch.strides);
  set_ints_attr(conv, "pads", ch.pads);
  b.node("Reshape", {"c", "merge"}, {"r2"});
  set_ints_attr(b.node("Transpose", {"r2"}, {"t2"}), "perm", ch.perm_out);
  if (ch.tail == "gelu") {  // 0.5 * t2 * (1 + erf(t2 / sqrt 2)), as PyTorch exports F.gelu
    b.initializer("sqrt2", scalar_of(ch.dt, 1.4142135623730951))
        .initializer("one", scalar_of(ch.dt, 1.0))
        .initializer("half", scalar_of(ch.dt, 0.5));
    b.node("Div", {"t2", "sqrt2"}, {"g1"});
    b.node("Erf", {"g1"}, {"g2"});
    b.node("Add", {"g2", "one"}, {"g3"});
    b.node("Mul", {"t2", "g3"}, {"g4"});
    b.node("Mul", {"g4", "half"}, {"y"});
  } else {
    b.node(ch.tail, {"t2"}, {"y"}).set_name("tail");
  }
  if (!ch.second_use.empty()) {
    b.node("Relu", {ch.second_use}, {"z"});
    b.output("z", ch.dt);
  }
  if (!ch.as_output.empty()) b.output(ch.as_output, ch.dt);
  return b.bytes();
}

}  // namespace kiln::test
