#include "passes/fuse_masked_softmax.h"

#include <cmath>
#include <optional>
#include <set>

#include "ops/op.h"
#include "ops/reduce/masked_softmax.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node* where = nullptr;
  const Node* softmax = nullptr;
  std::string x, mask;
};

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& softmax) {
  if (!is_op(&softmax, "Softmax") || softmax.opset < 13 || !softmax.has_input(0) || softmax.outputs.size() != 1)
    return std::nullopt;
  const Node* where = idx.producer(softmax.inputs[0]);
  if (!is_op(where, "Where") || where->inputs.size() != 3 || where->outputs.size() != 1 ||
      !idx.used_only_by(where->outputs[0], softmax))
    return std::nullopt;
  Match m{where, &softmax, where->inputs[2], where->inputs[0]};
  if (!is_minus_infinity(g, where->inputs[1]) || !g.has_value(m.mask)) return std::nullopt;
  const ValueType& x = g.value(m.x).type;
  if ((x.dtype != DType::kF32 && x.dtype != DType::kF16) || !x.shape || x.shape->empty()) return std::nullopt;
  if (g.value(m.mask).type.dtype != DType::kBool) return std::nullopt;
  if (!same_determined_type(g, where->outputs[0], m.x)) return std::nullopt;  // X is not broadcast
  const int64_t rank = int64_t(x.shape->size());
  const int64_t axis = softmax.attrs.get_int("axis", -1);
  if (axis != -1 && axis != rank - 1) return std::nullopt;
  return m;
}

}  // namespace

int fuse_masked_softmax(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::set<const Node*> replaced;
  std::vector<Node> fused;
  for (const Match& m : found) {
    Node n;
    n.op_type = reduce::kMaskedSoftmaxOp;
    n.domain = kKilnDomain;
    n.opset = 1;
    n.name = m.softmax->name;
    n.inputs = {m.x, m.mask};
    n.outputs = m.softmax->outputs;
    replaced.insert(m.where);
    replaced.insert(m.softmax);
    fused.push_back(std::move(n));
  }
  return replace_nodes(g, replaced, std::move(fused));
}

}  // namespace kiln
