#include "passes/fuse_resize_sum_conv.h"

#include <cstring>
#include <optional>
#include <set>

#include "ops/spatial/resize_sum.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node* sum;
  const Node* conv;
  Dims y;  // [B, C, H, W]
  int64_t c_out;
};

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& conv) {
  if (!is_pointwise_conv(g, conv)) return std::nullopt;
  const std::string& y = conv.inputs[0];
  const Node* sum = idx.producer(y);
  if (!is_kiln_op(sum, spatial::kResizeSumOp) || sum->outputs.size() != 1 ||
      sum->attrs.get_string("output_layout", "nchw") != "nchw" || !idx.used_only_by(y, conv))
    return std::nullopt;
  if (conv.inputs[1] == y || (conv.has_input(2) && conv.inputs[2] == y)) return std::nullopt;
  const auto dims = static_dims(g, y);
  if (!dims || dims->size() != 4) return std::nullopt;
  const DType dt = g.value(y).type.dtype;
  if (dt != DType::kF32 && dt != DType::kF16) return std::nullopt;
  const Tensor& w = *g.value(conv.inputs[1]).constant;
  if (w.dtype() != dt || w.dim(1) != (*dims)[1]) return std::nullopt;
  if (conv.has_input(2)) {
    const Tensor& b = *g.value(conv.inputs[2]).constant;
    if (b.dtype() != dt || b.rank() != 1 || b.dim(0) != w.dim(0)) return std::nullopt;
  }
  if (g.value(conv.outputs[0]).type.dtype != dt) return std::nullopt;
  return Match{sum, &conv, *dims, w.dim(0)};
}

// Wc [Cout, C, 1, 1] as the GEMM's W [C, Cout] (bytes moved, any element size).
Tensor transposed_weight(const Tensor& wc, int64_t c_out, int64_t c) {
  Tensor w(wc.dtype(), {c, c_out});
  const size_t es = dtype_size(wc.dtype());
  const auto* src = static_cast<const char*>(wc.raw());
  auto* dst = static_cast<char*>(w.raw());
  for (int64_t o = 0; o < c_out; ++o)
    for (int64_t i = 0; i < c; ++i) std::memcpy(dst + size_t(i * c_out + o) * es, src + size_t(o * c + i) * es, es);
  return w;
}

}  // namespace

int fuse_resize_sum_conv(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> replaced;
  for (const Match& m : found) {
    const int64_t b = m.y[0], c = m.y[1], h = m.y[2], w = m.y[3];
    const DType dt = g.value(m.conv->inputs[0]).type.dtype;
    const std::string& z = m.conv->outputs[0];
    Node sum = *m.sum;
    sum.attrs.set("output_layout", std::string("tokens"));
    sum.outputs = {add_value(g, m.sum->outputs[0] + "/tokens", {dt, shape_of(Dims{b, h * w, c})})};
    const std::string weight =
        add_constant(g, z + "/gemm_w", transposed_weight(*g.value(m.conv->inputs[1]).constant, m.c_out, c));
    const std::string bias = m.conv->has_input(2) ? m.conv->inputs[2]
                                                  : add_constant(g, z + "/gemm_b", Tensor(dt, {m.c_out}));
    Node gemm = kiln_node(m.conv->name, "FusedMatMul", {sum.outputs[0], weight, bias},
                          add_value(g, z + "/channels", {dt, shape_of(Dims{b, m.c_out, h * w})}));
    gemm.attrs.set("activation", std::string("none"));
    gemm.attrs.set("transpose_output", int64_t(1));
    Node reshape = onnx_node(g, m.conv->name + "/reshape", "Reshape",
                             {gemm.outputs[0], add_constant(g, z + "/shape", Tensor::from_vector<int64_t>({4}, {b, m.c_out, h, w}))},
                             z);
    for (Node* n : {&sum, &gemm, &reshape}) added.push_back(std::move(*n));
    replaced.insert(m.sum);
    replaced.insert(m.conv);
  }
  replace_nodes(g, replaced, std::move(added));
  return int(found.size());
}

}  // namespace kiln
