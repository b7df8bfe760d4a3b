#include "passes/fuse_token_conv.h"

#include <set>

#include "ops/conv/im2col_tokens.h"
#include "ops/conv/token_conv.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node* gather = nullptr;
  const Node* gemm = nullptr;
};

bool is_f32_or_f16(DType d) { return d == DType::kF32 || d == DType::kF16; }

// A GEMM computing nothing but rows · W [+ bias]: a plain FusedMatMul with its bias, or a MatMul.
bool plain_gemm(const Node& n) {
  if (is_plain_fused_matmul(&n, 3)) return n.has_input(2);
  return is_op(&n, "MatMul") && n.inputs.size() == 2 && n.outputs.size() == 1;
}

// The gather in the token form, with its window: X [B, H·W, C] static, one input and output.
bool token_gather(const Graph& g, const Node* n) {
  if (!is_kiln_op(n, conv::kIm2ColTokensOp) || n->inputs.size() != 1 || n->outputs.size() != 1) return false;
  const auto x = static_dims(g, n->inputs[0]);
  if (!x || x->size() != 3) return false;
  const Attributes& a = n->attrs;
  return a.has("height") && a.has("width") && a.get_int("height") * a.get_int("width") == (*x)[1] &&
         a.get_ints("kernel_shape", {}).size() == 2;
}

// Types as TokenConv computes them: FusedMatMul's rule for (rows, W, bias), float32/float16.
bool types_fit(const Graph& g, const Node& gather, const Node& gemm) {
  const DType x = g.value(gather.inputs[0]).type.dtype;
  if (!is_f32_or_f16(x) || g.value(gemm.inputs[0]).type.dtype != x || g.value(gemm.inputs[1]).type.dtype != x)
    return false;
  DType y = x;
  if (gemm.has_input(2)) {
    y = g.value(gemm.inputs[2]).type.dtype;
    if (y != x && !(x == DType::kF16 && y == DType::kF32)) return false;
  }
  return g.value(gemm.outputs[0]).type.dtype == y;
}

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& gemm) {
  if (!plain_gemm(gemm)) return std::nullopt;
  const Node* gather = idx.producer(gemm.inputs[0]);
  if (!token_gather(g, gather)) return std::nullopt;
  if (!idx.used_only_by(gemm.inputs[0], gemm) || gemm.inputs[1] == gemm.inputs[0]) return std::nullopt;
  if (!g.is_constant(gemm.inputs[1]) || (gemm.has_input(2) && !g.is_constant(gemm.inputs[2]))) return std::nullopt;
  const auto x = static_dims(g, gather->inputs[0]), rows = static_dims(g, gemm.inputs[0]);
  const auto w = static_dims(g, gemm.inputs[1]), y = static_dims(g, gemm.outputs[0]);
  if (!rows || !w || !y || rows->size() != 3 || w->size() != 2) return std::nullopt;
  const Dims kernel = gather->attrs.get_ints("kernel_shape", {});
  if ((*w)[0] != kernel[0] * kernel[1] * (*x)[2] || (*rows)[2] != (*w)[0]) return std::nullopt;
  if (*y != Dims{(*rows)[0], (*rows)[1], (*w)[1]}) return std::nullopt;
  if (gemm.has_input(2) && static_dims(g, gemm.inputs[2]) != Dims{(*w)[1]}) return std::nullopt;
  if (!types_fit(g, *gather, gemm)) return std::nullopt;
  const Dims strides = gather->attrs.get_ints("strides", {1, 1});
  if (strides.size() != 2 ||
      !conv::token_conv_fits(g.value(gather->inputs[0]).type.dtype, (*x)[2], (*w)[1], strides[0], strides[1]))
    return std::nullopt;
  return Match{gather, &gemm};
}

}  // namespace

int fuse_token_conv(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> removed;
  for (const Match& m : found) {
    std::vector<std::string> in = {m.gather->inputs[0], m.gemm->inputs[1]};
    if (m.gemm->has_input(2)) in.push_back(m.gemm->inputs[2]);
    Node n = kiln_node(m.gemm->name, conv::kTokenConvOp, in, m.gemm->outputs[0]);
    n.attrs = m.gather->attrs;  // TokenConv's attributes are the gather's
    added.push_back(std::move(n));
    removed.insert({m.gather, m.gemm});
  }
  return replace_nodes(g, removed, std::move(added));
}

}  // namespace kiln
