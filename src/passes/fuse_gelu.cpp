#include "passes/fuse_gelu.h"

#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "passes/infer_shapes.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

constexpr double kSqrt2 = 1.4142135623730950488;
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kCubic = 0.044715;
constexpr int kGeluOpset = 20;  // Gelu's first (and only) definition

// Relative distance a constant stored in `dt` may sit from the exact value: a few units in the
// last place, so 1/√2 rounded to float (or √2 to fp16) counts, while 0.6 for 0.5 does not.
double rounding_allowance(DType dt) {
  switch (dt) {
    case DType::kF64: return 1e-12;
    case DType::kF32: return 1e-6;
    case DType::kF16: return 1e-3;
    case DType::kBF16: return 8e-3;
    default: return 0;
  }
}

// The operand of a two-input node other than `v`, when one of them is `v`.
std::optional<std::string> other_operand(const Node& n, const std::string& v) {
  if (n.inputs.size() != 2) return std::nullopt;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return std::nullopt;
}

struct GeluMatch {
  std::vector<const Node*> nodes;  // every node replaced, the last one included
  const Node* last = nullptr;      // writes y; becomes the Gelu
  std::string x;
  bool tanh = false;
};

class GeluMatcher {
 public:
  GeluMatcher(const Graph& g, const GraphIndex& idx) : g_(g), idx_(idx) {}

  // x / √2 (or x · 1/√2) → Erf → ...
  std::optional<GeluMatch> match_erf(const Node& erf) const {
    if (erf.inputs.size() != 1) return std::nullopt;
    const Node* pre = idx_.producer(erf.inputs[0]);
    if (!pre || pre->inputs.size() != 2 || !idx_.used_only_by(erf.inputs[0], erf)) return std::nullopt;
    for (size_t i = 0; i < 2; ++i) {
      const std::string& x = pre->inputs[i];
      const std::string& c = pre->inputs[1 - i];
      const bool scaled = (is_op(pre, "Div") && i == 0 && near(c, kSqrt2, x)) ||
                          (is_op(pre, "Mul") && near(c, kInvSqrt2, x));
      if (scaled) return finish(x, erf, {pre, &erf}, false);
    }
    return std::nullopt;
  }

  // √(2/π) · (x + 0.044715 · x³) → Tanh → ...
  std::optional<GeluMatch> match_tanh(const Node& tanh) const {
    if (tanh.inputs.size() != 1) return std::nullopt;
    const Node* scale = idx_.producer(tanh.inputs[0]);
    if (!is_op(scale, "Mul") || scale->inputs.size() != 2 || !idx_.used_only_by(tanh.inputs[0], tanh))
      return std::nullopt;
    for (size_t i = 0; i < 2; ++i) {
      const std::string& inner = scale->inputs[i];
      const Node* sum = idx_.producer(inner);
      if (!is_op(sum, "Add") || sum->inputs.size() != 2 || !idx_.used_only_by(inner, *scale)) continue;
      for (size_t j = 0; j < 2; ++j) {
        const std::string& x = sum->inputs[j];
        if (!near(scale->inputs[1 - i], kSqrt2OverPi, x)) continue;
        std::vector<const Node*> nodes;
        if (!cubic_term(sum->inputs[1 - j], *sum, x, nodes)) continue;
        nodes.insert(nodes.end(), {sum, scale, &tanh});
        return finish(x, tanh, std::move(nodes), true);
      }
    }
    return std::nullopt;
  }

 private:
  bool is_float(const std::string& v) const { return dtype_is_float(g_.value(v).type.dtype); }

  // `v` is a one-element float constant within rounding of `exact`, of rank ≤ x's rank.
  bool near(const std::string& v, double exact, const std::string& x) const {
    std::optional<double> c = scalar_constant(g_, v);
    if (!c) return false;
    const Tensor& t = *g_.value(v).constant;
    const auto& xs = g_.value(x).type.shape;
    if (t.rank() > (xs ? int(xs->size()) : 0)) return false;
    return std::abs(*c - exact) <= rounding_allowance(t.dtype()) * std::abs(exact);
  }

  // `n` computes v · 0.5 or v / 2.
  bool halves(const Node& n, const std::string& v, const std::string& x) const {
    if (is_op(&n, "Mul")) {
      auto o = other_operand(n, v);
      return o && near(*o, 0.5, x);
    }
    return is_op(&n, "Div") && n.inputs.size() == 2 && n.inputs[0] == v && near(n.inputs[1], 2.0, x);
  }

  // `term` = 0.044715 · x³ (x³ as Pow(x, 3), x · (x · x) or (x · x) · x), read only by `sum`.
  bool cubic_term(const std::string& term, const Node& sum, const std::string& x,
                  std::vector<const Node*>& nodes) const {
    const Node* mul = idx_.producer(term);
    if (!is_op(mul, "Mul") || mul->inputs.size() != 2 || !idx_.used_only_by(term, sum)) return false;
    for (size_t i = 0; i < 2; ++i) {
      const std::string& cube = mul->inputs[i];
      if (!near(mul->inputs[1 - i], kCubic, x)) continue;
      const Node* c = idx_.producer(cube);
      if (!c || !idx_.used_only_by(cube, *mul)) return false;
      if (is_op(c, "Pow") && c->inputs.size() == 2 && c->inputs[0] == x) {
        std::optional<double> e = scalar_constant(g_, c->inputs[1]);
        const auto& xs = g_.value(x).type.shape;
        if (!e || *e != 3.0 || g_.value(c->inputs[1]).constant->rank() > (xs ? int(xs->size()) : 0)) return false;
        nodes.insert(nodes.end(), {c, mul});
        return true;
      }
      auto sq_name = is_op(c, "Mul") ? other_operand(*c, x) : std::nullopt;
      if (!sq_name || *sq_name == x) return false;
      const Node* sq = idx_.producer(*sq_name);
      if (!is_op(sq, "Mul") || sq->inputs.size() != 2 || sq->inputs[0] != x || sq->inputs[1] != x ||
          !idx_.used_only_by(*sq_name, *c))
        return false;
      nodes.insert(nodes.end(), {sq, c, mul});
      return true;
    }
    return false;
  }

  // The shared tail: f (Erf or Tanh) → Add(·, 1) → s, then 0.5 · x · s.
  std::optional<GeluMatch> finish(const std::string& x, const Node& f, std::vector<const Node*> nodes,
                                  bool tanh) const {
    if (!is_float(x)) return std::nullopt;
    const Node* add = idx_.sole_consumer(f.outputs[0]);
    if (!is_op(add, "Add")) return std::nullopt;
    auto one = other_operand(*add, f.outputs[0]);
    if (!one || !near(*one, 1.0, x)) return std::nullopt;
    nodes.push_back(add);
    const std::string& s = add->outputs[0];
    const Node* c = idx_.sole_consumer(s);
    if (!c || c->outputs.size() != 1) return std::nullopt;
    const Node* last = nullptr;
    if (halves(*c, s, x)) {  // x · (s · 0.5)
      const Node* d = idx_.sole_consumer(c->outputs[0]);
      if (is_op(d, "Mul") && other_operand(*d, c->outputs[0]) == x) last = d;
    } else if (is_op(c, "Mul") && other_operand(*c, s) == x) {  // (x · s) · 0.5
      const Node* d = idx_.sole_consumer(c->outputs[0]);
      if (d && halves(*d, c->outputs[0], x)) last = d;
    } else if (auto h_out = other_operand(*c, s); is_op(c, "Mul") && h_out) {  // (x · 0.5) · s
      const Node* h = idx_.producer(*h_out);
      if (h && *h_out != s && halves(*h, x, x) && idx_.used_only_by(*h_out, *c)) {
        nodes.push_back(h);
        last = c;
      }
    }
    if (!last) return std::nullopt;
    if (last != c) nodes.push_back(c);
    nodes.push_back(last);
    return GeluMatch{std::move(nodes), last, x, tanh};
  }

  const Graph& g_;
  const GraphIndex& idx_;
};

}  // namespace

int fuse_gelu(Graph& g) {
  std::vector<GeluMatch> matches;
  {
    GraphIndex idx(g);
    GeluMatcher matcher(g, idx);
    std::set<const Node*> claimed;
    for (const Node& n : g.nodes) {
      std::optional<GeluMatch> m;
      if (is_op(&n, "Erf")) m = matcher.match_erf(n);
      else if (is_op(&n, "Tanh")) m = matcher.match_tanh(n);
      if (m && claim_nodes(claimed, m->nodes)) matches.push_back(std::move(*m));
    }
  }
  // The last node of each match becomes the Gelu (same name and output); the rest goes dead.
  for (const GeluMatch& m : matches) {
    Node& last = g.nodes[size_t(m.last - g.nodes.data())];
    Node gelu;
    gelu.name = last.name;
    gelu.op_type = "Gelu";
    gelu.opset = kGeluOpset;
    gelu.inputs = {m.x};
    gelu.outputs = last.outputs;
    gelu.attrs.set("approximate", std::string(m.tanh ? "tanh" : "none"));
    last = std::move(gelu);
    infer_node(g, last);
  }
  if (!matches.empty()) finish_rewrite(g);
  return int(matches.size());
}

}  // namespace kiln
