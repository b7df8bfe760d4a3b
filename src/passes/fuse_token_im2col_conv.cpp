#include "passes/fuse_token_im2col_conv.h"

#include <set>

#include "ops/conv/im2col_tokens.h"
#include "ops/op.h"
#include "ops/tensor/tensor_util.h"
#include "passes/token_conv_chain.h"

namespace kiln {
namespace {

struct Im2ColConv {
  const Node* conv = nullptr;
  const Node* last = nullptr;  // the Transpose writing y
  std::string x;               // what the gather reads: tokens, or the Conv's own image
  bool tokens = false;
  int64_t batch = 0, channels = 0, height = 0, width = 0;
  int64_t out_channels = 0, out_height = 0, out_width = 0, kh = 0, kw = 0;
};

// A 1x1 window at stride 1 without explicit pads (every auto_pad pads it by 0): the gather would
// copy the image, and a MatMul on the tokens needs none.
bool is_pointwise_window(const Attributes& a, int64_t kh, int64_t kw) {
  const bool unpadded = a.get_string("auto_pad", "NOTSET") != "NOTSET" ||
                        a.get_ints("pads", {0, 0, 0, 0}) == std::vector<int64_t>{0, 0, 0, 0};
  return kh == 1 && kw == 1 && a.get_ints("strides", {1, 1}) == std::vector<int64_t>{1, 1} && unpadded;
}

std::optional<Im2ColConv> match(const Graph& g, const GraphIndex& idx, const Node& conv) {
  if (!is_op(&conv, "Conv") || conv.inputs.size() < 2 || conv.outputs.size() != 1) return std::nullopt;
  if (conv.attrs.get_int("group", 1) != 1) return std::nullopt;
  if (!g.is_constant(conv.inputs[1]) || (conv.has_input(2) && !g.is_constant(conv.inputs[2]))) return std::nullopt;
  const auto img = static_dims(g, conv.inputs[0]), w = static_dims(g, conv.inputs[1]);
  const auto out = static_dims(g, conv.outputs[0]);
  if (!img || !w || !out || img->size() != 4 || w->size() != 4 || out->size() != 4) return std::nullopt;  // 2-D only
  const DType dt = g.value(conv.inputs[0]).type.dtype;
  if ((dt != DType::kF32 && dt != DType::kF16) || g.value(conv.inputs[1]).type.dtype != dt) return std::nullopt;
  const int64_t B = (*img)[0], C = (*img)[1], Co = (*w)[0], kh = (*w)[2], kw = (*w)[3];
  if ((*w)[1] != C || (*out)[0] != B || (*out)[1] != Co) return std::nullopt;
  if (is_pointwise_window(conv.attrs, kh, kw)) return std::nullopt;
  const Node* last = match_tokens_out(g, idx, conv);
  if (!last) return std::nullopt;
  Im2ColConv m{&conv, last, conv.inputs[0], false, B, C, (*img)[2], (*img)[3], Co, (*out)[2], (*out)[3], kh, kw};
  if (const auto t = match_token_image(g, idx, conv.inputs[0])) m.x = t->first->inputs[0], m.tokens = true;
  return m;
}

std::vector<Node> rewrite(Graph& g, const Im2ColConv& m) {
  const Node& conv = *m.conv;
  const std::string base = conv.name;
  const DType dt = g.value(conv.inputs[0]).type.dtype;
  const int64_t P = m.out_height * m.out_width, K = m.kh * m.kw * m.channels;
  const std::string rows = add_value(g, base + "/kiln_rows", ValueType{dt, shape_of({m.batch, P, K})});

  std::vector<Node> nodes;
  Node gather = kiln_node(base + "/kiln_im2col", conv::kIm2ColTokensOp, {m.x}, rows);
  for (const auto& [name, value] : conv.attrs.all())
    if (name == "strides" || name == "dilations" || name == "pads" || name == "auto_pad") gather.attrs.set(name, value);
  gather.attrs.set("kernel_shape", std::vector<int64_t>{m.kh, m.kw});
  if (m.tokens) {
    gather.attrs.set("height", m.height);
    gather.attrs.set("width", m.width);
  }
  nodes.push_back(std::move(gather));
  append_window_gemm(g, conv, base, rows, m.batch, P, m.last->outputs[0], nodes);
  return nodes;
}

}  // namespace

int fuse_token_im2col_conv(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> replaced;
  for (const Im2ColConv& m : found) {
    for (Node& n : rewrite(g, m)) added.push_back(std::move(n));
    replaced.insert(m.last);  // its output gets the new producer; the Conv and the rest go dead
  }
  replace_nodes(g, replaced, std::move(added));
  return int(found.size());
}

}  // namespace kiln
