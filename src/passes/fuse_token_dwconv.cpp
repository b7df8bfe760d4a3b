#include "passes/fuse_token_dwconv.h"

#include <optional>
#include <set>

#include "ops/conv/depthwise_nhwc.h"
#include "ops/op.h"
#include "passes/token_conv_chain.h"

namespace kiln {
namespace {

// The chain when its Conv is depthwise: one input channel per group, one output channel per
// input channel.
std::optional<TokenConvChain> match(const Graph& g, const GraphIndex& idx, const Node& conv) {
  auto m = match_token_conv_chain(g, idx, conv);
  if (!m) return std::nullopt;
  const auto w = static_dims(g, conv.inputs[1]);
  const int64_t C = m->channels;
  if (m->out_channels != C || conv.attrs.get_int("group", 1) != C || !w || *w != Dims{C, 1, (*w)[2], (*w)[3]})
    return std::nullopt;
  return m;
}

}  // namespace

int fuse_token_dwconv(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  std::vector<Node> fused;
  for (const TokenConvChain& m : found) {
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
  for (const TokenConvChain& m : found) replaced.insert(m.last);
  return replace_nodes(g, replaced, std::move(fused));
}

}  // namespace kiln
