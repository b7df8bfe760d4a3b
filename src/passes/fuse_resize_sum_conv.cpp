#include "passes/fuse_resize_sum_conv.h"

#include <algorithm>
#include <set>

#include "kiln/status.h"
#include "ops/op.h"
#include "ops/spatial/resize_sum_conv.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node *sum = nullptr, *conv = nullptr;
  const Node* proj = nullptr;  // the identity's FusedMatMul, absorbed
  int ident = -1;
};

bool typed(const Graph& g, const std::string& v, const Dims& d, DType t) {
  return static_dims(g, v) == d && g.value(v).type.dtype == t;
}

// The FusedMatMul writing the sum's identity input `ident` [B, N, C] when the kernel can compute
// it from its source tokens [B, N, Cin] instead: bias only, constant fp16 W and bias, fp16 tokens
// in and out, read by nothing but that one input of the sum.
const Node* projection(const Graph& g, const GraphIndex& idx, const Node& sum, int ident,
                       const spatial::ResizeSumPlan& plan, int64_t K) {
  if (ident < 0) return nullptr;
  const std::string& v = sum.inputs[size_t(ident)];
  const Node* mm = idx.producer(v);
  if (!is_kiln_op(mm, "FusedMatMul") || mm->inputs.size() != 3 || mm->outputs.size() != 1 ||
      mm->attrs.get_string("activation", "none") != "none" || !idx.used_only_by(v, sum) ||
      std::count(sum.inputs.begin(), sum.inputs.end(), v) != 1)
    return nullptr;
  const auto x = static_dims(g, mm->inputs[0]), y = static_dims(g, v);
  if (!x || !y || x->size() != 3 || y->size() != 3 || !g.is_constant(mm->inputs[1]) || !g.is_constant(mm->inputs[2]))
    return nullptr;
  const int64_t cin = (*x)[2], c = (*y)[2];
  const DType h = DType::kF16;
  if (!typed(g, mm->inputs[0], *x, h) || !typed(g, v, {(*x)[0], (*x)[1], c}, h) ||
      !typed(g, mm->inputs[1], {cin, c}, h) || !typed(g, mm->inputs[2], {c}, h))
    return nullptr;
  return spatial::resize_sum_conv_layout(plan, K, ident, cin) ? mm : nullptr;
}

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& conv) {
  // is_pointwise_conv checks group, kernel, strides, pads, auto_pad and constant W [K, C, 1, 1].
  if (conv.inputs.size() != 3 || !conv.has_input(2) || !is_pointwise_conv(g, conv)) return std::nullopt;
  for (int64_t d : conv.attrs.get_ints("dilations", {1, 1}))
    if (d != 1) return std::nullopt;
  const Node* sum = idx.producer(conv.inputs[0]);
  if (!is_kiln_op(sum, spatial::kResizeSumOp) || sum->outputs.size() != 1 || !idx.used_only_by(conv.inputs[0], conv))
    return std::nullopt;
  const auto s = static_dims(g, conv.inputs[0]);
  const Dims w = g.value(conv.inputs[1]).constant->dims();
  if (!s || s->size() != 4) return std::nullopt;
  const int64_t B = (*s)[0], C = (*s)[1], H = (*s)[2], W = (*s)[3], K = w[0];
  if (w[1] != C) return std::nullopt;
  const DType h = DType::kF16, bt = g.value(conv.inputs[2]).type.dtype;
  if (bt != h && bt != DType::kF32) return std::nullopt;
  if (!typed(g, conv.inputs[0], *s, h) || !typed(g, conv.inputs[1], w, h) || !typed(g, conv.inputs[2], {K}, bt) ||
      !typed(g, conv.outputs[0], {B, K, H, W}, bt))
    return std::nullopt;
  std::vector<Dims> maps;
  for (const std::string& x : sum->inputs) {
    if (x.empty() || !static_dims(g, x)) return std::nullopt;
    maps.push_back(*static_dims(g, x));
  }
  try {
    const spatial::ResizeSumPlan plan = spatial::plan_resize_sum(OpContextBase{*sum}, maps);
    const auto l = spatial::resize_sum_conv_layout(plan, K);
    if (!l) return std::nullopt;
    return Match{sum, &conv, projection(g, idx, *sum, l->ident, plan, K), l->ident};
  } catch (const Error&) {
    return std::nullopt;  // an invalid ResizeSum is left for the executor to report
  }
}

}  // namespace

int fuse_resize_sum_conv(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> removed;
  for (const Match& m : found) {
    std::vector<std::string> inputs = m.sum->inputs;
    inputs.push_back(m.conv->inputs[1]);
    inputs.push_back(m.conv->inputs[2]);
    if (m.proj) {
      inputs[size_t(m.ident)] = m.proj->inputs[0];
      inputs.push_back(m.proj->inputs[1]);
      inputs.push_back(m.proj->inputs[2]);
      removed.insert(m.proj);
    }
    Node n = kiln_node(m.conv->name, spatial::kResizeSumConvOp, std::move(inputs), m.conv->outputs[0]);
    n.attrs = m.sum->attrs;
    if (m.proj) n.attrs.set("projected_input", int64_t(m.ident));
    added.push_back(std::move(n));
    removed.insert({m.sum, m.conv});
  }
  replace_nodes(g, removed, std::move(added));
  return int(found.size());
}

}  // namespace kiln
