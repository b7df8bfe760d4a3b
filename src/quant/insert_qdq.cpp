#include "quant/insert_qdq.h"

#include <cmath>

#include "ops/quantize/quant_math.h"
#include "passes/infer_shapes.h"
#include "passes/pattern.h"
#include "quant/quant_targets.h"

namespace kiln::quant {
namespace {

constexpr double kInt8Max = 127;

Node qdq_node(const Graph& g, const char* op, const std::string& name, std::vector<std::string> inputs,
              const std::string& output, int axis = -1) {
  Node n = onnx_node(g, name, op, std::move(inputs), output);
  if (axis >= 0) n.attrs.set("axis", int64_t(axis));
  return n;
}

// Q → DQ of activation x; returns the dequantized value's name.
std::string quantize_activation(Graph& g, const std::string& x, double amax, std::vector<Node>& added) {
  const std::string s = add_constant(g, x + "_scale", Tensor::scalar<float>(int8_scale(amax)));
  const std::string z = add_constant(g, x + "_zero_point", Tensor::scalar<int8_t>(0));
  const ValueType& t = g.value(x).type;
  const std::string q = add_value(g, x + "_int8", {DType::kI8, t.shape});
  const std::string dq = add_value(g, x + "_dequantized", {DType::kF32, t.shape});
  added.push_back(qdq_node(g, "QuantizeLinear", x + "_QuantizeLinear", {x, s, z}, q));
  added.push_back(qdq_node(g, "DequantizeLinear", x + "_DequantizeLinear", {q, s, z}, dq));
  return dq;
}

// W as int8 per channel of `axis` behind a DequantizeLinear; returns the dequantized value's name.
std::string quantize_weight(Graph& g, const std::string& w, int axis, std::vector<Node>& added) {
  const Tensor& wt = *g.value(w).constant;
  const Dims& d = wt.dims();
  const int64_t channels = d[size_t(axis)];
  int64_t inner = 1;
  for (size_t i = size_t(axis) + 1; i < d.size(); ++i) inner *= d[i];
  const float* v = wt.data<float>();
  std::vector<double> absmax(size_t(channels), 0.0);
  for (int64_t i = 0; i < wt.numel(); ++i) {
    double& m = absmax[size_t((i / inner) % channels)];
    m = std::max(m, double(std::fabs(v[i])));
  }
  std::vector<float> scale(static_cast<size_t>(channels));
  for (size_t c = 0; c < scale.size(); ++c) scale[c] = int8_scale(absmax[c]);
  std::vector<int8_t> q(static_cast<size_t>(wt.numel()));
  for (int64_t i = 0; i < wt.numel(); ++i) {
    const float s = scale[size_t((i / inner) % channels)];
    // −127, not −128: the symmetric range keeps −W exactly representable.
    q[size_t(i)] = int8_t(std::max(round_saturate(double(v[i] / s), 0, DType::kI8), -kInt8Max));
  }
  const std::string qw = add_constant(g, w + "_int8", Tensor::from_vector<int8_t>(d, q));
  const std::string s = add_constant(g, w + "_scale", Tensor::from_vector<float>({channels}, scale));
  const std::string z = add_constant(g, w + "_zero_point", Tensor::from_vector<int8_t>({channels}, std::vector<int8_t>(size_t(channels), 0)));
  const std::string dq = add_value(g, w + "_dequantized", {DType::kF32, shape_of(d)});
  added.push_back(qdq_node(g, "DequantizeLinear", w + "_DequantizeLinear", {qw, s, z}, dq, axis));
  return dq;
}

}  // namespace

float int8_scale(double amax) { return amax > 0 ? float(amax / kInt8Max) : 1.0f; }

QdqReport insert_qdq_int8(Graph& g, const std::map<std::string, double>& amax,
                          const std::set<std::string>& keep_float) {
  const QuantTargets all = find_quant_targets(g);
  QuantTargets targets;  // without the kept consumers
  std::set<std::string> kept_found, read;
  for (size_t k = 0; k < all.consumers.size(); ++k) {
    const Node& n = g.nodes[all.consumers[k]];
    if (keep_float.count(n.outputs[0])) {
      kept_found.insert(n.outputs[0]);
      continue;
    }
    targets.consumers.push_back(all.consumers[k]);
    targets.weights.push_back(all.weights[k]);
    read.insert(n.inputs[0]);
  }
  for (const std::string& name : keep_float)
    if (!kept_found.count(name))
      fail(ErrorCode::kInvalidArgument, "no GEMM or convolution to keep in float computes '" + name + "'");
  for (const std::string& x : all.activations)
    if (read.count(x)) targets.activations.push_back(x);
  QdqReport r;
  std::vector<Node> added;
  std::map<std::string, std::string> dequantized;  // float name → its Q/DQ output
  for (const std::string& x : targets.activations) {
    auto it = amax.find(x);
    if (it == amax.end())
      fail(ErrorCode::kInvalidArgument, "no calibrated range for tensor '" + x +
                                            "' (a calibration cache made for another model or other passes?)");
    dequantized[x] = quantize_activation(g, x, it->second, added);
    ++r.activations;
  }
  std::map<std::pair<std::string, int>, std::string> weights;  // a weight shared by nodes is quantized once
  for (const WeightTarget& w : targets.weights) {
    Node& n = g.nodes[w.node];
    const auto key = std::make_pair(n.inputs[w.input], w.axis);
    if (!weights.count(key)) {
      weights[key] = quantize_weight(g, key.first, w.axis, added);
      ++r.weights;
    }
    n.inputs[w.input] = weights[key];
  }
  for (size_t i : targets.consumers) g.nodes[i].inputs[0] = dequantized.at(g.nodes[i].inputs[0]);
  r.nodes_added = int(added.size());
  for (Node& n : added) g.nodes.push_back(std::move(n));
  finish_rewrite(g);
  infer_shapes(g);
  return r;
}

}  // namespace kiln::quant
