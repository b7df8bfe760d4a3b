#include "passes/fuse_group_norm.h"

#include <optional>
#include <set>

#include "ops/norm/group_norm_fused.h"
#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  std::vector<const Node*> nodes;  // in chain order; the last writes Y
  std::string x, z, activation;
  std::vector<double> scale, bias;  // per channel, folded
  int64_t groups = 0;
  float eps = 1e-5f;
};

// A constant's elements as doubles when it broadcasts against X (rank `rank`) along the channel
// axis only: every dim 1 but the one over X's axis 1, which is 1 or C. Returned per channel.
std::optional<std::vector<double>> channel_constant(const Graph& g, const std::string& v, size_t rank, int64_t c) {
  if (!g.has_value(v) || !g.value(v).constant) return std::nullopt;
  const Tensor& t = *g.value(v).constant;
  const Dims& d = t.dims();
  if (d.size() > rank) return std::nullopt;
  const size_t off = rank - d.size();
  for (size_t i = 0; i < d.size(); ++i)
    if (d[i] != 1 && !(off + i == 1 && d[i] == c)) return std::nullopt;
  std::vector<double> e(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) e[size_t(i)] = t.at_double(t.numel() == c ? i : 0);
  return e;
}

// The operand of binary `n` other than `cur`, when cur is exactly one of its two inputs.
std::optional<std::string> other_operand(const Node& n, const std::string& cur) {
  if (n.inputs.size() != 2 || n.outputs.size() != 1) return std::nullopt;
  if (n.inputs[0] == cur && n.inputs[1] != cur) return n.inputs[1];
  if (n.inputs[1] == cur && n.inputs[0] != cur) return n.inputs[0];
  return std::nullopt;
}

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& norm) {
  if (!is_op(&norm, "InstanceNormalization") || norm.inputs.size() != 3 || norm.outputs.size() != 1)
    return std::nullopt;
  const Node* r1 = idx.producer(norm.inputs[0]);
  if (!is_op(r1, "Reshape") || !idx.used_only_by(r1->outputs[0], norm)) return std::nullopt;
  Match m;
  m.x = r1->inputs[0];
  const std::optional<Dims> xd = static_dims(g, m.x), grouped = static_dims(g, r1->outputs[0]);
  const DType dt = g.value(m.x).type.dtype;
  if (!xd || !grouped || xd->size() < 2 || grouped->size() != 3 || (dt != DType::kF32 && dt != DType::kF16))
    return std::nullopt;
  const int64_t c = (*xd)[1];
  m.groups = (*grouped)[1];
  if ((*grouped)[0] != (*xd)[0] || m.groups <= 0 || c % m.groups != 0) return std::nullopt;
  if ((*grouped)[0] * m.groups * (*grouped)[2] != numel_of(*xd)) return std::nullopt;
  // InstanceNormalization's own scale and B: one per group (its channels).
  const auto s = channel_constant(g, norm.inputs[1], 2, m.groups), b = channel_constant(g, norm.inputs[2], 2, m.groups);
  if (!s || !b) return std::nullopt;
  const Node* r2 = idx.sole_consumer(norm.outputs[0]);
  if (!is_op(r2, "Reshape") || static_dims(g, r2->outputs[0]) != xd) return std::nullopt;
  m.eps = norm.attrs.get_float("epsilon", 1e-5f);
  m.nodes = {r1, &norm, r2};
  const int64_t cg = c / m.groups;
  for (int64_t ch = 0; ch < c; ++ch) {
    m.scale.push_back((*s)[size_t(ch / cg)]);
    m.bias.push_back((*b)[size_t(ch / cg)]);
  }
  std::string cur = r2->outputs[0];
  // [Mul γ] [Add β]: per-channel constants folded into the scale and bias.
  for (const char* op : {"Mul", "Add"}) {
    const Node* n = idx.sole_consumer(cur);
    const auto other = n && is_op(n, op) ? other_operand(*n, cur) : std::nullopt;
    const auto k = other ? channel_constant(g, *other, xd->size(), c) : std::nullopt;
    if (!k || g.value(n->outputs[0]).type.dtype != dt || static_dims(g, n->outputs[0]) != xd) continue;
    for (size_t ch = 0; ch < size_t(c); ++ch) {
      if (op[0] == 'M') m.scale[ch] *= (*k)[ch], m.bias[ch] *= (*k)[ch];
      else m.bias[ch] += (*k)[ch];
    }
    m.nodes.push_back(n);
    cur = n->outputs[0];
  }
  // [Add Z]: a residual of Y's shape and type.
  if (const Node* n = idx.sole_consumer(cur); is_op(n, "Add")) {
    const auto other = other_operand(*n, cur);
    if (other && !g.value(*other).constant && same_determined_type(g, *other, cur) &&
        same_determined_type(g, n->outputs[0], cur)) {
      m.z = *other;
      m.nodes.push_back(n);
      cur = n->outputs[0];
    }
  }
  if (const Node* n = idx.sole_consumer(cur); n && !(m.activation = fused_activation(n)).empty()) m.nodes.push_back(n);
  return m;
}

}  // namespace

int fuse_group_norm(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::set<const Node*> replaced;
  std::vector<Node> fused;
  for (const Match& m : found) {
    const Node& last = *m.nodes.back();
    const DType dt = g.value(m.x).type.dtype;
    const Dims channels{int64_t(m.scale.size())};
    Node n;
    n.op_type = norm::kGroupNormOp;
    n.domain = kKilnDomain;
    n.opset = 1;
    n.name = last.name;
    n.inputs = {m.x, add_constant(g, last.name + "_gn_scale", Tensor::from_doubles(dt, channels, m.scale)),
                add_constant(g, last.name + "_gn_bias", Tensor::from_doubles(dt, channels, m.bias))};
    if (!m.z.empty()) n.inputs.push_back(m.z);
    n.outputs = last.outputs;
    n.attrs.set("num_groups", m.groups);
    n.attrs.set("epsilon", m.eps);
    if (!m.activation.empty()) n.attrs.set("activation", m.activation);
    replaced.insert(m.nodes.begin(), m.nodes.end());
    fused.push_back(std::move(n));
  }
  return replace_nodes(g, replaced, std::move(fused));
}

}  // namespace kiln
