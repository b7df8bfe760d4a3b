#include "passes/fuse_layer_norm.h"

#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "passes/infer_shapes.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

constexpr int kLayerNormOpset = 17;  // LayerNormalization's first (and only) definition
constexpr int kReduceAxesInputOpset = 18;  // ReduceMean's axes: attribute before, input from

// The operand of a two-input node other than `v`, when one of them is `v`.
std::optional<std::string> other_operand(const Node& n, const std::string& v) {
  if (n.inputs.size() != 2) return std::nullopt;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return std::nullopt;
}

Dims without_leading_ones(Dims d) {
  while (!d.empty() && d.front() == 1) d.erase(d.begin());
  return d;
}

struct LnMatch {
  std::vector<const Node*> nodes;  // every node replaced, the last one included
  const Node* last = nullptr;      // writes y; becomes the LayerNormalization
  std::string x, gamma, beta;      // gamma/beta empty when absent
  int64_t channels = 0;
  double eps = 0;
};

class LnMatcher {
 public:
  LnMatcher(const Graph& g, const GraphIndex& idx) : g_(g), idx_(idx) {}

  // Anchored at the first ReduceMean (the mean of x).
  std::optional<LnMatch> match(const Node& rm1) const {
    if (!is_op(&rm1, "ReduceMean") || !rm1.has_input(0) || rm1.outputs.size() != 1) return std::nullopt;
    LnMatch m;
    m.x = rm1.inputs[0];
    const ValueType& xt = g_.value(m.x).type;
    if ((xt.dtype != DType::kF32 && xt.dtype != DType::kF16) || !xt.shape || xt.shape->empty()) return std::nullopt;
    const int rank = int(xt.shape->size());
    if (!xt.shape->back().known()) return std::nullopt;
    m.channels = xt.shape->back().value;
    if (!reduces_last_axis(rm1, rank)) return std::nullopt;

    // d = Sub(x, mean), mean read only by the Sub.
    const std::string& mean = rm1.outputs[0];
    const Node* sub = idx_.sole_consumer(mean);
    if (!is_op(sub, "Sub") || sub->inputs.size() != 2 || sub->inputs[0] != m.x || sub->inputs[1] != mean ||
        sub->outputs.size() != 1)
      return std::nullopt;
    const std::string& d = sub->outputs[0];

    // d feeds exactly the square and the division.
    if (idx_.is_graph_output(d)) return std::nullopt;
    const auto& users = idx_.consumers(d);
    if (users.size() != 2) return std::nullopt;
    const Node* sq = nullptr;
    const Node* div = nullptr;
    for (const Node* u : users) {
      if (is_square_of(*u, d, rank)) sq = u;
      else div = u;
    }
    if (!sq || !div || sq->outputs.size() != 1) return std::nullopt;

    // var = ReduceMean(sq) over the same axis, then Add(var, eps) → Sqrt.
    const Node* rm2 = idx_.sole_consumer(sq->outputs[0]);
    if (!is_op(rm2, "ReduceMean") || rm2->inputs.empty() || rm2->inputs[0] != sq->outputs[0] ||
        rm2->outputs.size() != 1 || !reduces_last_axis(*rm2, rank))
      return std::nullopt;
    const Node* add_eps = idx_.sole_consumer(rm2->outputs[0]);
    if (!is_op(add_eps, "Add") || add_eps->outputs.size() != 1) return std::nullopt;
    auto eps_name = other_operand(*add_eps, rm2->outputs[0]);
    if (!eps_name || *eps_name == rm2->outputs[0]) return std::nullopt;
    std::optional<double> eps = small_scalar(*eps_name, rank);
    if (!eps || !dtype_is_float(g_.value(*eps_name).type.dtype)) return std::nullopt;
    m.eps = *eps;
    const Node* sqrt = idx_.sole_consumer(add_eps->outputs[0]);
    if (!is_op(sqrt, "Sqrt") || sqrt->inputs.size() != 1 || sqrt->outputs.size() != 1) return std::nullopt;
    const std::string& s = sqrt->outputs[0];

    // n = Div(d, s) or Mul(d, Reciprocal(s)) in either operand order.
    m.nodes = {&rm1, sub, sq, rm2, add_eps, sqrt};
    if (is_op(div, "Div")) {
      if (div->inputs.size() != 2 || div->inputs[0] != d || div->inputs[1] != s || !idx_.used_only_by(s, *div))
        return std::nullopt;
    } else if (is_op(div, "Mul")) {
      const Node* recip = idx_.sole_consumer(s);
      if (!is_op(recip, "Reciprocal") || recip->outputs.size() != 1) return std::nullopt;
      if (other_operand(*div, d) != recip->outputs[0] || !idx_.used_only_by(recip->outputs[0], *div))
        return std::nullopt;
      m.nodes.push_back(recip);
    } else {
      return std::nullopt;
    }
    if (div->outputs.size() != 1) return std::nullopt;
    m.nodes.push_back(div);
    m.last = div;

    // Optional Mul(·, gamma), then optional Add(·, beta).
    if (const Node* mul = idx_.sole_consumer(m.last->outputs[0]); is_op(mul, "Mul") && mul->outputs.size() == 1) {
      auto gamma = other_operand(*mul, m.last->outputs[0]);
      if (gamma && is_channel_param(*gamma, m, rank)) {
        m.gamma = *gamma;
        m.nodes.push_back(mul);
        m.last = mul;
      }
    }
    if (const Node* add = idx_.sole_consumer(m.last->outputs[0]); is_op(add, "Add") && add->outputs.size() == 1) {
      auto beta = other_operand(*add, m.last->outputs[0]);
      if (beta && is_channel_param(*beta, m, rank)) {
        m.beta = *beta;
        m.nodes.push_back(add);
        m.last = add;
      }
    }
    return m;
  }

 private:
  // A one-element constant of rank ≤ x's, as a double.
  std::optional<double> small_scalar(const std::string& v, int rank) const {
    std::optional<double> c = scalar_constant(g_, v);
    if (!c || g_.value(v).constant->rank() > rank) return std::nullopt;
    return c;
  }

  // Pow(d, 2) or Mul(d, d).
  bool is_square_of(const Node& n, const std::string& d, int rank) const {
    if (n.inputs.size() != 2 || n.inputs[0] != d) return false;
    if (is_op(&n, "Mul")) return n.inputs[1] == d;
    if (!is_op(&n, "Pow")) return false;
    std::optional<double> e = small_scalar(n.inputs[1], rank);
    return e && *e == 2.0;
  }

  // keepdims=1 and axes exactly {-1} or {rank-1}: an attribute before opset 18, a constant
  // integer input from then on.
  bool reduces_last_axis(const Node& rm, int rank) const {
    if (rm.attrs.get_int("keepdims", 1) != 1) return false;
    std::vector<int64_t> axes;
    if (rm.opset >= kReduceAxesInputOpset) {
      if (rm.attrs.has("axes") || !rm.has_input(1) || !g_.is_constant(rm.inputs[1])) return false;
      const Tensor& t = *g_.value(rm.inputs[1]).constant;
      if ((t.dtype() != DType::kI64 && t.dtype() != DType::kI32) || t.rank() != 1) return false;
      for (int64_t i = 0; i < t.numel(); ++i) axes.push_back(t.at_int(i));
    } else {
      if (rm.has_input(1)) return false;
      axes = rm.attrs.get_ints("axes", {});
    }
    return axes.size() == 1 && (axes[0] == -1 || axes[0] == rank - 1);
  }

  // A constant of x's dtype, rank ≤ x's, shaped [C] once leading 1s are dropped.
  bool is_channel_param(const std::string& v, const LnMatch& m, int rank) const {
    if (v.empty() || !g_.is_constant(v)) return false;
    const Tensor& t = *g_.value(v).constant;
    return t.dtype() == g_.value(m.x).type.dtype && t.rank() <= rank &&
           without_leading_ones(t.dims()) == Dims{m.channels};
  }

  const Graph& g_;
  const GraphIndex& idx_;
};

// `v` as a 1-D [C] constant: itself when it already is one, else a reshaped copy.
std::string as_vector(Graph& g, const std::string& v, int64_t channels) {
  const Tensor& t = *g.value(v).constant;
  if (t.dims() == Dims{channels}) return v;
  return add_constant(g, v + "/1d", t.reshaped({channels}));
}

Tensor ones(DType dt, int64_t n) {
  Tensor t(dt, {n});
  visit_dtype(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T>) {
      T* p = t.data<T>();
      for (int64_t i = 0; i < n; ++i) p[i] = from_double<T>(1.0);
    }
  });
  return t;
}

}  // namespace

int fuse_layer_norm(Graph& g) {
  std::vector<LnMatch> matches;
  {
    GraphIndex idx(g);
    LnMatcher matcher(g, idx);
    std::set<const Node*> claimed;
    for (const Node& n : g.nodes) {
      std::optional<LnMatch> m = matcher.match(n);
      if (m && claim_nodes(claimed, m->nodes)) matches.push_back(std::move(*m));
    }
  }
  // The last node of each match becomes the LayerNormalization (same name and output); the rest
  // goes dead.
  for (const LnMatch& m : matches) {
    Node& last = g.nodes[size_t(m.last - g.nodes.data())];
    const DType dt = g.value(m.x).type.dtype;
    Node ln;
    ln.name = last.name;
    ln.op_type = "LayerNormalization";
    ln.opset = kLayerNormOpset;
    const std::string scale = m.gamma.empty() ? add_constant(g, last.outputs[0] + "/scale", ones(dt, m.channels))
                                              : as_vector(g, m.gamma, m.channels);
    ln.inputs = {m.x, scale};
    if (!m.beta.empty()) ln.inputs.push_back(as_vector(g, m.beta, m.channels));
    ln.outputs = {last.outputs[0]};
    ln.attrs.set("axis", int64_t(-1));
    ln.attrs.set("epsilon", float(m.eps));
    last = std::move(ln);
    infer_node(g, last);
  }
  if (!matches.empty()) finish_rewrite(g);
  return int(matches.size());
}

}  // namespace kiln
