#include "passes/fuse_conv_epilogue.h"

#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ops/conv/fused_conv.h"
#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node* conv = nullptr;
  const Node* bn = nullptr;
  const Node* add = nullptr;
  const Node* act = nullptr;
  std::string z, activation = "none";
  std::vector<const Node*> nodes() const {
    std::vector<const Node*> v = {conv};
    for (const Node* n : {bn, add, act})
      if (n) v.push_back(n);
    return v;
  }
  const Node* last() const { return act ? act : add ? add : bn ? bn : conv; }
};

bool float_kernel_type(DType t) { return t == DType::kF32 || t == DType::kF16; }

// BatchNormalization in its inference form over the conv's channels, with constant parameters.
bool foldable_bn(const Graph& g, const Node& bn, const Node& conv) {
  if (!is_op(&bn, "BatchNormalization") || bn.inputs.size() != 5 || bn.outputs.size() != 1) return false;
  if (bn.attrs.get_int("training_mode", 0) != 0 || !g.is_constant(conv.inputs[1])) return false;
  if (conv.has_input(2) && !g.is_constant(conv.inputs[2])) return false;
  const int64_t m = g.value(conv.inputs[1]).constant->dim(0);
  for (size_t i = 1; i < 5; ++i) {
    if (!g.is_constant(bn.inputs[i])) return false;
    const Tensor& t = *g.value(bn.inputs[i]).constant;
    if (!dtype_is_float(t.dtype()) || t.rank() != 1 || t.dim(0) != m) return false;
  }
  return true;
}

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& conv) {
  if (!is_op(&conv, "Conv") || conv.outputs.size() != 1) return std::nullopt;
  const ValueType& xt = g.value(conv.inputs[0]).type;
  if (!float_kernel_type(xt.dtype) || !xt.shape || (xt.shape->size() != 3 && xt.shape->size() != 4))
    return std::nullopt;
  if (conv.has_input(2) && g.value(conv.inputs[2]).type.dtype != xt.dtype) return std::nullopt;
  Match m;
  m.conv = &conv;
  std::string y = conv.outputs[0];
  const Node* next = idx.sole_consumer(y);
  if (next && foldable_bn(g, *next, conv) && next->inputs[0] == y) {
    m.bn = next;
    y = next->outputs[0];
    next = idx.sole_consumer(y);
  }
  if (is_op(next, "Add") && next->inputs.size() == 2 && next->inputs[0] != next->inputs[1]) {
    const std::string& z = next->inputs[0] == y ? next->inputs[1] : next->inputs[0];
    if (same_determined_type(g, z, y)) {
      m.add = next, m.z = z;
      y = next->outputs[0];
      next = idx.sole_consumer(y);
    }
  }
  if (const std::string kind = fused_activation(next); !kind.empty()) m.activation = kind, m.act = next;
  if (!m.bn && !m.add && !m.act) return std::nullopt;
  return m;
}

// W' = W · s, B' = (B − mean) · s + beta with s = scale / sqrt(var + eps), in double, stored in W's dtype.
void fold_bn(Graph& g, const Node& bn, Node& conv) {
  const Tensor& w = *g.value(conv.inputs[1]).constant;
  auto param = [&](size_t i) { return *g.value(bn.inputs[i]).constant; };
  const Tensor scale = param(1), beta = param(2), mean = param(3), var = param(4);
  const double eps = bn.attrs.get_float("epsilon", 1e-5f);
  const int64_t m = w.dim(0), per = w.numel() / m;
  std::vector<double> nw(static_cast<size_t>(w.numel())), nb(static_cast<size_t>(m));
  const Tensor* b = conv.has_input(2) ? &*g.value(conv.inputs[2]).constant : nullptr;
  for (int64_t c = 0; c < m; ++c) {
    const double s = scale.at_double(c) / std::sqrt(var.at_double(c) + eps);
    for (int64_t i = 0; i < per; ++i) nw[size_t(c * per + i)] = w.at_double(c * per + i) * s;
    nb[size_t(c)] = ((b ? b->at_double(c) : 0.0) - mean.at_double(c)) * s + beta.at_double(c);
  }
  conv.inputs.resize(3);
  conv.inputs[1] = add_constant(g, conv.name + "_bn_W", Tensor::from_doubles(w.dtype(), w.dims(), nw));
  conv.inputs[2] = add_constant(g, conv.name + "_bn_B", Tensor::from_doubles(w.dtype(), {m}, nb));
}

}  // namespace

int fuse_conv_epilogue(Graph& g) {
  std::vector<Match> found;
  {
    const GraphIndex idx(g);
    std::set<const Node*> claimed;
    for (const Node& n : g.nodes) {
      std::optional<Match> m = match(g, idx, n);
      if (!m) continue;
      if (claim_nodes(claimed, m->nodes())) found.push_back(*m);
    }
  }
  if (found.empty()) return 0;
  std::set<const Node*> replaced;
  std::vector<Node> added;
  for (const Match& m : found) {
    Node conv = *m.conv;
    if (m.bn) fold_bn(g, *m.bn, conv);
    const Node* last = m.last();
    conv.name = last->name;
    conv.outputs = {last->outputs[0]};
    if (m.add || m.act) {
      conv.op_type = conv::kFusedConvOp;
      conv.domain = kKilnDomain;
      conv.opset = 1;
      if (!conv.has_input(2)) {
        const Tensor& w = *g.value(conv.inputs[1]).constant;
        conv.inputs.resize(3);
        conv.inputs[2] = add_constant(g, conv.name + "_zero_B",
                                      Tensor::from_doubles(w.dtype(), {w.dim(0)}, std::vector<double>(size_t(w.dim(0)), 0.0)));
      }
      if (m.add) conv.inputs.push_back(m.z);
      conv.attrs.set("activation", m.activation);
    }
    for (const Node* n : m.nodes()) replaced.insert(n);
    added.push_back(std::move(conv));
  }
  return replace_nodes(g, replaced, std::move(added));
}

}  // namespace kiln
