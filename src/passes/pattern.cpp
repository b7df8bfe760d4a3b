#include "passes/pattern.h"

#include <algorithm>
#include <cmath>

#include "ops/conv/depthwise_nhwc.h"
#include "ops/op.h"

namespace kiln {

GraphIndex::GraphIndex(const Graph& g) : g_(g) {
  for (const Node& n : g.nodes) {
    for (const auto& o : n.outputs)
      if (!o.empty()) producer_[o] = &n;
    for (const auto& i : n.inputs) {
      if (i.empty()) continue;
      auto& list = consumers_[i];
      if (list.empty() || list.back() != &n) list.push_back(&n);
    }
  }
}

const Node* GraphIndex::producer(const std::string& value) const {
  auto it = producer_.find(value);
  return it == producer_.end() ? nullptr : it->second;
}

const std::vector<const Node*>& GraphIndex::consumers(const std::string& value) const {
  auto it = consumers_.find(value);
  return it == consumers_.end() ? none_ : it->second;
}

bool GraphIndex::is_graph_output(const std::string& value) const {
  return std::find(g_.outputs.begin(), g_.outputs.end(), value) != g_.outputs.end();
}

bool GraphIndex::used_only_by(const std::string& value, const Node& node) const {
  const auto& c = consumers(value);
  return c.size() == 1 && c[0] == &node && !is_graph_output(value);
}

bool GraphIndex::used_only_within(const std::string& value, const std::vector<const Node*>& nodes) const {
  if (is_graph_output(value)) return false;
  for (const Node* c : consumers(value))
    if (std::find(nodes.begin(), nodes.end(), c) == nodes.end()) return false;
  return true;
}

const Node* GraphIndex::sole_consumer(const std::string& value) const {
  const auto& c = consumers(value);
  return c.size() == 1 && !is_graph_output(value) ? c[0] : nullptr;
}

Node onnx_node(const Graph& g, const std::string& name, const char* op, std::vector<std::string> inputs,
               std::string output) {
  Node n;
  n.name = name;
  n.op_type = op;
  n.opset = g.opsets.count("") ? g.opsets.at("") : 13;
  n.inputs = std::move(inputs);
  n.outputs = {std::move(output)};
  return n;
}

const Shape* shape_of_value(const Graph& g, const std::string& value) {
  if (value.empty() || !g.has_value(value)) return nullptr;
  const ValueType& t = g.value(value).type;
  return t.shape ? &*t.shape : nullptr;
}

bool same_dim(const Dim& a, const Dim& b) {
  return (a.known() && b.known() && a.value == b.value) || (!a.known() && !a.symbol.empty() && a.symbol == b.symbol);
}

std::optional<Dims> static_dims(const Graph& g, const std::string& value) {
  if (value.empty() || !g.has_value(value)) return std::nullopt;
  const ValueType& t = g.value(value).type;
  if (!t.shape || !shape_known(*t.shape)) return std::nullopt;
  return shape_dims(*t.shape);
}

std::string add_value(Graph& g, const std::string& base, ValueType type, std::optional<Tensor> constant) {
  std::string name = base;
  for (int k = 1; g.has_value(name); ++k) name = base + "_" + std::to_string(k);
  g.values[name] = Value{name, std::move(type), std::move(constant)};
  return name;
}

std::string add_constant(Graph& g, const std::string& base, Tensor t) {
  ValueType type{t.dtype(), shape_of(t.dims())};
  return add_value(g, base, std::move(type), std::move(t));
}

Node kiln_node(const std::string& name, const char* op, std::vector<std::string> inputs, std::string output) {
  Node n;
  n.name = name;
  n.op_type = op;
  n.domain = kKilnDomain;
  n.opset = 1;
  n.inputs = std::move(inputs);
  n.outputs = {std::move(output)};
  return n;
}

bool is_op(const Node* node, const char* op) { return node && node->domain.empty() && node->op_type == op; }

bool is_kiln_op(const Node* node, const char* op) {
  return node && node->domain == kKilnDomain && node->op_type == op;
}

std::string fused_activation(const Node* node) {
  if (!node || node->inputs.size() != 1) return "";
  if (is_op(node, "Relu")) return "relu";
  if (!is_op(node, "Gelu")) return "";
  const std::string mode = node->attrs.get_string("approximate", "none");
  return mode == "none" ? "gelu" : mode == "tanh" ? "gelu_tanh" : "";
}

bool same_determined_type(const Graph& g, const std::string& a, const std::string& b) {
  const ValueType &at = g.value(a).type, &bt = g.value(b).type;
  if (at.dtype != bt.dtype || !at.shape || !bt.shape || *at.shape != *bt.shape) return false;
  for (const Dim& d : *at.shape)
    if (!d.known() && d.symbol.empty()) return false;
  return true;
}

bool is_swap_last_two(const Node* node) {
  return is_op(node, "Transpose") && node->attrs.get_ints("perm", {}) == std::vector<int64_t>{0, 2, 1};
}

bool is_pointwise_conv(const Graph& g, const Node& conv) {
  if (!is_op(&conv, "Conv") || conv.inputs.size() < 2 || conv.outputs.size() != 1) return false;
  const Attributes& a = conv.attrs;
  if (a.get_int("group", 1) != 1) return false;
  const std::string pad = a.get_string("auto_pad", "NOTSET");
  if (pad != "NOTSET" && pad != "VALID") return false;
  for (int64_t v : a.get_ints("kernel_shape", {1, 1}))
    if (v != 1) return false;
  for (int64_t v : a.get_ints("strides", {1, 1}))
    if (v != 1) return false;
  for (int64_t v : a.get_ints("pads", {0, 0, 0, 0}))
    if (v != 0) return false;
  if (!g.is_constant(conv.inputs[1]) || (conv.has_input(2) && !g.is_constant(conv.inputs[2]))) return false;
  const Dims& w = g.value(conv.inputs[1]).constant->dims();
  return w.size() == 4 && w[2] == 1 && w[3] == 1;
}

std::optional<double> scalar_constant(const Graph& g, const std::string& value) {
  if (value.empty() || !g.is_constant(value)) return std::nullopt;
  const Tensor& t = *g.value(value).constant;
  if (t.numel() != 1) return std::nullopt;
  return t.at_double(0);
}

std::optional<double> uniform_constant(const Graph& g, const std::string& value) {
  if (value.empty() || !g.is_constant(value)) return std::nullopt;
  const Tensor& t = *g.value(value).constant;
  if (t.numel() == 0 || !dtype_is_float(t.dtype())) return std::nullopt;
  const double x = t.at_double(0);
  if (std::isnan(x)) return std::nullopt;
  for (int64_t i = 1; i < t.numel(); ++i)
    if (t.at_double(i) != x) return std::nullopt;
  return x;
}

bool is_minus_infinity(const Graph& g, const std::string& value) {
  const std::optional<double> x = uniform_constant(g, value);
  return x && std::isinf(*x) && *x < 0;
}

std::optional<std::vector<int64_t>> constant_ints(const Graph& g, const Node& n, size_t slot) {
  if (!n.has_input(slot) || !g.is_constant(n.inputs[slot])) return std::nullopt;
  const Tensor& t = *g.value(n.inputs[slot]).constant;
  if (t.dtype() != DType::kI64 && t.dtype() != DType::kI32) return std::nullopt;
  return t.to_int64_vector();
}

std::optional<std::vector<int64_t>> axes_operand(const Graph& g, const Node& n) {
  if (n.has_input(1)) return constant_ints(g, n, 1);
  if (!n.attrs.has("axes")) return std::nullopt;
  return n.attrs.get_ints("axes");
}

std::optional<std::string> reshape_target(Graph& g, const std::string& base, const std::string& value) {
  const std::optional<Dims> out = static_dims(g, value);
  if (!out || std::count(out->begin(), out->end(), 0)) return std::nullopt;
  return add_constant(g, base + "/shape", Tensor::from_vector<int64_t>({int64_t(out->size())}, *out));
}

bool has_static_type(const Graph& g, const std::string& value, const Dims& dims, DType dtype) {
  return static_dims(g, value) == dims && g.value(value).type.dtype == dtype;
}

bool is_plain_fused_matmul(const Node* node, size_t inputs) {
  return is_kiln_op(node, "FusedMatMul") && node->inputs.size() == inputs && node->outputs.size() == 1 &&
         node->attrs.get_string("activation", "none") == "none";
}

bool is_same_3x3_dwconv(const Node* n) {
  if (!is_kiln_op(n, conv::kDepthwiseNhwcOp) || n->inputs.size() != 3 || !n->has_input(2)) return false;
  const Attributes& a = n->attrs;
  return a.get_string("auto_pad", "NOTSET") == "NOTSET" && a.get_ints("kernel_shape", {3, 3}) == Dims{3, 3} &&
         a.get_ints("strides", {1, 1}) == Dims{1, 1} && a.get_ints("dilations", {1, 1}) == Dims{1, 1} &&
         a.get_ints("pads", {0, 0, 0, 0}) == Dims{1, 1, 1, 1};
}

bool is_token_layer_norm(const Node* n, bool with_bias) {
  if (!is_op(n, "LayerNormalization") || n->outputs.empty()) return false;
  if (with_bias ? n->inputs.size() != 3 || !n->has_input(2) : n->inputs.size() < 2) return false;
  for (size_t o = 1; o < n->outputs.size(); ++o)
    if (!n->outputs[o].empty()) return false;
  const int64_t axis = n->attrs.get_int("axis", -1);
  return (axis == -1 || axis == 2) && n->attrs.get_int("stash_type", 1) == 1;
}

void finish_rewrite(Graph& g) {
  g.sort_topologically();  // remove_dead_nodes walks the order backwards
  g.remove_dead_nodes();
}

bool claim_nodes(std::set<const Node*>& claimed, const std::vector<const Node*>& nodes) {
  for (const Node* n : nodes)
    if (claimed.count(n)) return false;
  claimed.insert(nodes.begin(), nodes.end());
  return true;
}

int replace_nodes(Graph& g, const std::set<const Node*>& removed, std::vector<Node> added) {
  const int count = int(added.size());
  for (const Node& n : added)
    if (n.domain == kKilnDomain) g.opsets.emplace(kKilnDomain, 1);
  std::vector<Node> kept;
  for (Node& n : g.nodes)
    if (!removed.count(&n)) kept.push_back(std::move(n));
  for (Node& n : added) kept.push_back(std::move(n));
  g.nodes = std::move(kept);
  finish_rewrite(g);
  return count;
}

}  // namespace kiln
