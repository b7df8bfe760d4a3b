#include "mix_ffn_block.h"

#include "../ops/harness.h"
#include "onnx_builder.h"

namespace kiln::test {
namespace {

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }
Tensor f32(float v) { return Tensor::from_vector<float>({}, {v}); }

}  // namespace

std::string build_mix_ffn_block(const Block& e) {
  ModelBuilder b(17);
  const int64_t N = e.H * e.W;
  if (e.variant == "graph input") {  // the LayerNorm reads a float16 copy of x, the residual x itself
    b.input("x", DType::kF32, {e.B, N, e.C});
  } else {
    b.input("x0", DType::kF32, {e.B, N, e.C});
    b.initializer("s0", random_tensor(DType::kF32, {e.C}, 11, 0.5, 1.5));
    b.initializer("bn0", random_tensor(DType::kF32, {e.C}, 12, -0.2, 0.2));
    set_int_attr(b.node("LayerNormalization", {"x0", "s0", "bn0"}, {"x1"}), "axis", -1);
    b.initializer("wp", random_tensor(DType::kF32, {e.C, e.C}, 9, -0.2, 0.2));
    b.initializer("bp", random_tensor(DType::kF32, {e.C}, 10, -0.1, 0.1));
    b.node("MatMul", {"x1", "wp"}, {"p0"});
    b.node("Add", {"p0", "bp"}, {"p1"});
    b.node("Add", {"p1", "x1"}, {"x"});
  }
  const bool ln_axis1 = e.variant == "ln axis 1";
  const Dims ln_dims = ln_axis1 ? Dims{N, e.C} : Dims{e.C};
  b.initializer("s", random_tensor(DType::kF32, ln_dims, 1, 0.5, 1.5));
  b.initializer("bn", random_tensor(DType::kF32, ln_dims, 2, -0.2, 0.2));
  b.initializer("w1", random_tensor(DType::kF32, {e.C, e.Hd}, 3, -0.3, 0.3));
  b.initializer("b1", random_tensor(DType::kF32, {e.Hd}, 4, -0.1, 0.1));
  b.initializer("wd", random_tensor(DType::kF32, {e.Hd, 1, e.k, e.k}, 5, -0.4, 0.4));
  b.initializer("bd", random_tensor(DType::kF32, {e.Hd}, 6, -0.1, 0.1));
  b.initializer("w2", random_tensor(DType::kF32, {e.Hd, e.C}, 7, -0.2, 0.2));
  b.initializer("b2", random_tensor(DType::kF32, {e.C}, 8, -0.1, 0.1));
  onnx::NodeProto& ln = b.node("LayerNormalization", {"x", "s", "bn"}, {"l"});
  set_int_attr(ln, "axis", ln_axis1 ? 1 : -1);
  auto* eps = ln.add_attribute();
  eps->set_name("epsilon");
  eps->set_type(onnx::AttributeProto::FLOAT);
  eps->set_f(e.eps);
  b.node("MatMul", {"l", "w1"}, {"m1"});
  b.node("Add", {"m1", "b1"}, {e.variant == "fc1 relu" ? "a1" : "h"});
  if (e.variant == "fc1 relu") b.node("Relu", {"a1"}, {"h"});
  set_ints_attr(b.node("Transpose", {"h"}, {"ht"}), "perm", {0, 2, 1});
  b.initializer("img", i64({e.B, e.Hd, e.H, e.W}));
  b.node("Reshape", {"ht", "img"}, {"hi"});
  onnx::NodeProto& conv = b.node("Conv", {"hi", "wd", "bd"}, {"ci"});
  set_int_attr(conv, "group", e.Hd);
  set_ints_attr(conv, "kernel_shape", {e.k, e.k});
  set_ints_attr(conv, "pads", {e.pad, e.pad, e.pad, e.pad});
  set_ints_attr(conv, "dilations", {e.dilation, e.dilation});
  b.initializer("flat", i64({e.B, e.Hd, N}));
  b.node("Reshape", {"ci", "flat"}, {"cf"});
  set_ints_attr(b.node("Transpose", {"cf"}, {"d"}), "perm", {0, 2, 1});
  std::string act = "d";
  if (e.gelu) {  // d · 0.5 · (1 + erf(d / √2))
    b.initializer("sqrt2", f32(1.4142135f));
    b.initializer("one", f32(1.f));
    b.initializer("half", f32(0.5f));
    b.node("Div", {"d", "sqrt2"}, {"g0"});
    b.node("Erf", {"g0"}, {"g1"});
    b.node("Add", {"g1", "one"}, {"g2"});
    b.node("Mul", {"d", "g2"}, {"g3"});
    b.node("Mul", {"g3", "half"}, {"g"});
    act = "g";
  }
  b.node("MatMul", {act, "w2"}, {"m2"});
  b.node("Add", {"m2", "b2"}, {"f"});
  std::string residual = "x";
  if (e.variant == "other residual") {
    b.input("r", DType::kF32, {e.B, N, e.C});
    residual = "r";
  }
  b.node("Add", {"f", residual}, {"y"});
  if (e.end.empty() || e.end == "y output") b.output("y", DType::kF32);
  if (!e.end.empty()) {
    const bool axis1 = e.end == "end axis 1";
    const Dims dims = axis1 ? Dims{N, e.C} : Dims{e.C};
    b.initializer("s2", random_tensor(DType::kF32, dims, 13, 0.5, 1.5));
    b.initializer("bn2", random_tensor(DType::kF32, dims, 14, -0.2, 0.2));
    std::vector<std::string> outs = {"z"};
    if (e.end == "end mean") outs.push_back("mean");
    onnx::NodeProto& end = b.node("LayerNormalization", {"y", "s2", "bn2"}, outs);
    set_int_attr(end, "axis", axis1 ? 1 : -1);
    b.output("z", DType::kF32);
    if (e.end == "end mean") b.output("mean", DType::kF32);
  }
  if (e.variant == "hidden output") b.output("h", DType::kF32);
  if (e.variant == "conv output") b.output(act, DType::kF32);
  return b.bytes();
}

TensorMap random_feeds(const Graph& g) {
  TensorMap feeds;
  uint64_t seed = 30;
  for (const std::string& in : g.inputs)
    feeds[in] = random_tensor(DType::kF32, shape_dims(*g.value(in).type.shape), seed++, -2.0, 2.0);
  return feeds;
}

}  // namespace kiln::test
