#include "passes/fuse_token_patch_conv.h"

#include <set>

#include "ops/op.h"
#include "ops/tensor/tensor_util.h"
#include "passes/token_conv_chain.h"

namespace kiln {
namespace {

struct Patch {
  TokenConvChain chain;
  int64_t k = 0, l = 0;  // kernel (= stride) along H and W
};

// The chain when its Conv is a non-overlapping patch embedding that tiles the picture exactly.
std::optional<Patch> match(const Graph& g, const GraphIndex& idx, const Node& conv) {
  auto c = match_token_conv_chain(g, idx, conv);
  if (!c) return std::nullopt;
  const auto w = static_dims(g, conv.inputs[1]);
  if (!w || w->size() != 4 || (*w)[0] != c->out_channels || (*w)[1] != c->channels) return std::nullopt;
  const int64_t k = (*w)[2], l = (*w)[3];
  const Attributes& a = conv.attrs;
  if (a.get_int("group", 1) != 1) return std::nullopt;
  if (a.get_ints("kernel_shape", {k, l}) != std::vector<int64_t>{k, l}) return std::nullopt;
  if (a.get_ints("strides", {1, 1}) != std::vector<int64_t>{k, l}) return std::nullopt;
  if (a.get_ints("dilations", {1, 1}) != std::vector<int64_t>{1, 1}) return std::nullopt;
  if (a.get_ints("pads", {0, 0, 0, 0}) != std::vector<int64_t>{0, 0, 0, 0}) return std::nullopt;
  const std::string pad = a.get_string("auto_pad", "NOTSET");
  if (pad != "NOTSET" && pad != "VALID") return std::nullopt;
  if (c->height % k != 0 || c->width % l != 0 || c->out_height != c->height / k || c->out_width != c->width / l)
    return std::nullopt;
  if (k == 1 && l == 1) return std::nullopt;  // a pointwise conv: merge_linear_pointwise_conv's business
  return Patch{*c, k, l};
}

std::string int64_constant(Graph& g, const std::string& base, const std::vector<int64_t>& v) {
  return add_constant(g, base, Tensor::from_vector<int64_t>({int64_t(v.size())}, v));
}

// The rewrite of one chain: the new nodes, the last one writing the chain's output.
std::vector<Node> rewrite(Graph& g, const Patch& p) {
  const TokenConvChain& c = p.chain;
  const Node& conv = *c.conv;
  const std::string base = conv.name;
  const DType dt = g.value(conv.inputs[0]).type.dtype;
  const int64_t B = c.batch, C = c.channels, OH = c.out_height, OW = c.out_width, K = p.k * p.l * C;
  const std::string x = c.first->inputs[0];

  const auto value = [&](const std::string& suffix, Dims dims) {
    return add_value(g, base + suffix, ValueType{dt, shape_of(dims)});
  };
  const std::string windows = value("/kiln_windows", {B, OH, p.k, OW, p.l, C});
  const std::string gathered = value("/kiln_gathered", {B, OH, OW, p.k, p.l, C});
  const std::string rows = value("/kiln_rows", {B, OH * OW, K});

  std::vector<Node> nodes;
  nodes.push_back(onnx_node(g, base + "/kiln_windows", "Reshape",
                            {x, int64_constant(g, base + "/kiln_windows_shape", {B, OH, p.k, OW, p.l, C})}, windows));
  nodes.push_back(onnx_node(g, base + "/kiln_gather", "Transpose", {windows}, gathered));
  nodes.back().attrs.set("perm", std::vector<int64_t>{0, 1, 3, 2, 4, 5});
  nodes.push_back(onnx_node(g, base + "/kiln_rows", "Reshape",
                            {gathered, int64_constant(g, base + "/kiln_rows_shape", {B, OH * OW, K})}, rows));
  append_window_gemm(g, conv, base, rows, B, OH * OW, c.last->outputs[0], nodes);
  return nodes;
}

}  // namespace

int fuse_token_patch_conv(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> replaced;
  for (const Patch& p : found) {
    for (Node& n : rewrite(g, p)) added.push_back(std::move(n));
    replaced.insert(p.chain.last);  // its output gets the new producer; the rest of the chain goes dead
  }
  replace_nodes(g, replaced, std::move(added));
  return int(found.size());
}

}  // namespace kiln
