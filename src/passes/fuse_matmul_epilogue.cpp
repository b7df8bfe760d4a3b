#include "passes/fuse_matmul_epilogue.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ops/op.h"
#include "ops/quantize/int8_matmul.h"
#include "passes/infer_shapes.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

constexpr int kFusedOpset = 1;

// The operand of a two-input node other than `v`, when one of them is `v`.
std::optional<std::string> other_operand(const Node& n, const std::string& v) {
  if (n.inputs.size() != 2) return std::nullopt;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return std::nullopt;
}

struct EpilogueMatch {
  std::vector<const Node*> nodes;  // MatMul (or Int8MatMul) first, the last node last
  const Node* int8 = nullptr;      // the Int8MatMul that takes the epilogue, if that is the GEMM
  const Node* last = nullptr;      // writes Y; becomes the FusedMatMul
  std::string a, w, bias, residual;
  std::string activation = "none";
};

class EpilogueMatcher {
 public:
  EpilogueMatcher(const Graph& g, const GraphIndex& idx) : g_(g), idx_(idx) {}

  // Extends from `mm` as far as the pattern goes, stopping before nodes another match took.
  std::optional<EpilogueMatch> match(const Node& mm, const std::set<const Node*>& claimed) const {
    // An Int8MatMul without bias, activation or residual: its W is int8 [N, K].
    const bool int8 = is_kiln_op(&mm, quant::kInt8MatMulOp) && mm.inputs.size() == 4 &&
                      mm.attrs.get_string("activation", "none") == "none";
    if (!(int8 || (is_op(&mm, "MatMul") && mm.inputs.size() == 2)) || claimed.count(&mm)) return std::nullopt;
    EpilogueMatch m;
    m.a = mm.inputs[0];
    m.w = mm.inputs[int8 ? 2 : 1];
    if (int8) m.int8 = &mm;
    const ValueType& at = g_.value(m.a).type;
    if (!dtype_is_float(at.dtype) || !at.shape || at.shape->size() < 2 || !g_.is_constant(m.w)) return std::nullopt;
    const Tensor& w = *g_.value(m.w).constant;
    if (w.rank() != 2 || w.dim(0) == 0 || (!int8 && w.dtype() != at.dtype)) return std::nullopt;
    const int64_t n = int8 ? w.dim(0) : w.dim(1);

    const std::string& product = mm.outputs[0];
    const Node* add = idx_.sole_consumer(product);
    if (!is_op(add, "Add") || claimed.count(add)) return std::nullopt;
    auto bias = other_operand(*add, product);
    if (!bias || !is_bias(*bias, n, at)) return std::nullopt;
    m.bias = *bias;
    m.nodes = {&mm, add};
    m.last = add;

    std::string y = add->outputs[0];
    if (const Node* act = idx_.sole_consumer(y); act && !claimed.count(act)) {
      const std::string kind = fused_activation(act);
      if (!kind.empty()) {
        m.activation = kind;
        m.nodes.push_back(act);
        m.last = act;
        y = act->outputs[0];
      }
    }

    if (const Node* sum = idx_.sole_consumer(y); is_op(sum, "Add") && !claimed.count(sum)) {
      auto res = other_operand(*sum, y);
      if (res && *res != y && same_determined_type(g_, *res, y)) {
        m.residual = *res;
        m.nodes.push_back(sum);
        m.last = sum;
      }
    }
    return m;
  }

 private:
  // A constant of n elements of A's dtype along the last axis only, of rank ≤ A's.
  bool is_bias(const std::string& v, int64_t n, const ValueType& a) const {
    if (!g_.is_constant(v)) return false;
    const Tensor& t = *g_.value(v).constant;
    if (t.dtype() != a.dtype || t.rank() < 1 || t.rank() > int(a.shape->size()) || t.dims().back() != n) return false;
    return t.numel() == n;  // with the last dim n: every other dim is 1
  }

  const Graph& g_;
  const GraphIndex& idx_;
};

// The bias as the 1-D [N] constant FusedMatMul takes: itself, or a reshaped copy under a new name.
std::string bias_vector(Graph& g, const std::string& bias) {
  const Tensor& t = *g.value(bias).constant;
  if (t.rank() == 1) return bias;
  return add_constant(g, bias + "_vector", t.reshaped({t.numel()}));
}

}  // namespace

int fuse_matmul_epilogue(Graph& g) {
  std::vector<EpilogueMatch> matches;
  {
    GraphIndex idx(g);
    EpilogueMatcher matcher(g, idx);
    std::set<const Node*> claimed;
    for (const Node& n : g.nodes) {
      std::optional<EpilogueMatch> m = matcher.match(n, claimed);
      if (!m) continue;
      claimed.insert(m->nodes.begin(), m->nodes.end());
      matches.push_back(std::move(*m));
    }
  }
  // The last node of each match becomes the FusedMatMul (same name and output); the rest goes dead.
  for (const EpilogueMatch& m : matches) {
    Node& last = g.nodes[size_t(m.last - g.nodes.data())];
    Node fused;
    fused.name = last.name;
    fused.op_type = m.int8 ? quant::kInt8MatMulOp : "FusedMatMul";
    fused.domain = kKilnDomain;
    fused.opset = kFusedOpset;
    fused.inputs = {m.a, m.w, bias_vector(g, m.bias)};
    if (m.int8) fused.inputs = {m.a, m.int8->inputs[1], m.w, m.int8->inputs[3], bias_vector(g, m.bias)};
    if (!m.residual.empty()) fused.inputs.push_back(m.residual);
    fused.outputs = last.outputs;
    fused.attrs.set("activation", m.activation);
    last = std::move(fused);
    infer_node(g, last);
  }
  if (!matches.empty()) finish_rewrite(g);
  return int(matches.size());
}

}  // namespace kiln
