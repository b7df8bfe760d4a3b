#include "passes/fuse_token_dwconv.h"

#include <optional>
#include <set>

#include "ops/conv/depthwise_nhwc.h"
#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node* first;  // Transpose
  const Node* conv;
  const Node* last;   // Transpose
  int64_t height, width;
};

// `conv` with its neighbours, when the chain around it is the token-layout round trip.
std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& conv) {
  if (!is_op(&conv, "Conv") || conv.inputs.size() < 2 || conv.outputs.size() != 1) return std::nullopt;
  // Upstream: Transpose(0,2,1) → Reshape → conv, each output read only by the next node.
  const Node* split = idx.producer(conv.inputs[0]);
  if (!is_op(split, "Reshape") || !idx.used_only_by(conv.inputs[0], conv)) return std::nullopt;
  const Node* first = idx.producer(split->inputs[0]);
  if (!is_swap_last_two(first) || !idx.used_only_by(split->inputs[0], *split)) return std::nullopt;
  // Downstream: conv → Reshape → Transpose(0,2,1). (A Flatten makes a matrix, which a
  // Transpose(0,2,1) cannot take: PyTorch's flatten(2) exports as Reshape.)
  const Node* merge = idx.sole_consumer(conv.outputs[0]);
  if (!is_op(merge, "Reshape") || merge->inputs[0] != conv.outputs[0]) return std::nullopt;
  const Node* last = idx.sole_consumer(merge->outputs[0]);
  if (!is_swap_last_two(last)) return std::nullopt;

  // Shapes: x [B, N, C] → [B, C, H, W] (N = H*W) → conv → [B, C, OH, OW] → [B, C, OH*OW].
  const auto x = static_dims(g, first->inputs[0]), img = static_dims(g, conv.inputs[0]);
  const auto w = static_dims(g, conv.inputs[1]), out = static_dims(g, conv.outputs[0]);
  const auto flat = static_dims(g, merge->outputs[0]);
  if (!x || !img || !w || !out || !flat || x->size() != 3 || img->size() != 4 || out->size() != 4 ||
      flat->size() != 3)
    return std::nullopt;
  const int64_t B = (*x)[0], N = (*x)[1], C = (*x)[2];
  if ((*img)[0] != B || (*img)[1] != C || (*img)[2] * (*img)[3] != N) return std::nullopt;
  if ((*out)[0] != B || (*out)[1] != C || *flat != Dims{B, C, (*out)[2] * (*out)[3]}) return std::nullopt;

  // Depthwise: one input channel per group, one output channel per input channel.
  if (conv.attrs.get_int("group", 1) != C || *w != Dims{C, 1, (*w)[2], (*w)[3]}) return std::nullopt;
  if (!g.is_constant(conv.inputs[1]) || (conv.has_input(2) && !g.is_constant(conv.inputs[2]))) return std::nullopt;
  const DType dt = g.value(conv.inputs[0]).type.dtype;
  if (dt != DType::kF32 && dt != DType::kF16) return std::nullopt;
  return Match{first, &conv, last, (*img)[2], (*img)[3]};
}

}  // namespace

int fuse_token_dwconv(Graph& g) {
  std::vector<Match> found;
  {
    GraphIndex idx(g);
    for (const Node& n : g.nodes)
      if (auto m = match(g, idx, n)) found.push_back(*m);
  }
  std::vector<Node> fused;
  for (const Match& m : found) {
    Node n;
    n.name = m.conv->name;
    n.op_type = conv::kDepthwiseNhwcOp;
    n.domain = kKilnDomain;
    n.opset = 1;
    n.inputs = {m.first->inputs[0], m.conv->inputs[1]};
    if (m.conv->has_input(2)) n.inputs.push_back(m.conv->inputs[2]);
    n.outputs = {m.last->outputs[0]};
    for (const auto& [name, value] : m.conv->attrs.all())
      if (name != "group") n.attrs.set(name, value);  // the window: kernel_shape, strides, dilations, pads, auto_pad
    n.attrs.set("height", m.height);
    n.attrs.set("width", m.width);
    fused.push_back(std::move(n));
  }
  if (fused.empty()) return 0;
  // The last Transpose's output is now written by the fused node; the old chain feeds nothing.
  std::set<const Node*> replaced;
  for (const Match& m : found) replaced.insert(m.last);
  g.opsets.emplace(kKilnDomain, 1);
  replace_nodes(g, replaced, std::move(fused));
  return int(found.size());
}

}  // namespace kiln
