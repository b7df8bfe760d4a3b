#include "passes/fuse_patch_embed_tokens.h"

#include <set>

#include "ops/conv/im2col_tokens.h"
#include "ops/conv/patch_embed_tokens.h"
#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node* gather = nullptr;
  const Node* gemm = nullptr;
};

bool is_f32_or_f16(DType d) { return d == DType::kF32 || d == DType::kF16; }

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& gemm) {
  const bool fused = is_kiln_op(&gemm, "FusedMatMul");
  if (!fused && !is_op(&gemm, "MatMul")) return std::nullopt;
  if (gemm.inputs.size() < 2 || gemm.outputs.size() != 1) return std::nullopt;
  if (fused) {  // the bias alone: an activation or a residual is another computation
    if (gemm.inputs.size() > 3 || gemm.attrs.get_string("activation", "none") != "none") return std::nullopt;
    if (!gemm.has_input(2)) return std::nullopt;
  }
  const Node* gather = idx.producer(gemm.inputs[0]);
  if (!is_kiln_op(gather, conv::kIm2ColTokensOp) || gather->inputs.size() != 1) return std::nullopt;
  if (!idx.used_only_by(gemm.inputs[0], gemm) || gemm.inputs[1] == gemm.inputs[0]) return std::nullopt;
  if (!g.is_constant(gemm.inputs[1])) return std::nullopt;
  const auto x = static_dims(g, gather->inputs[0]), rows = static_dims(g, gemm.inputs[0]);
  const auto w = static_dims(g, gemm.inputs[1]), y = static_dims(g, gemm.outputs[0]);
  if (!x || !rows || !w || !y || x->size() != 4 || rows->size() != 3 || w->size() != 2) return std::nullopt;
  if ((*x)[1] < 1 || (*x)[1] > kPatchEmbedMaxChannels) return std::nullopt;
  if ((*w)[0] != (*rows)[2] || *y != Dims{(*rows)[0], (*rows)[1], (*w)[1]}) return std::nullopt;
  const DType dt = g.value(gemm.inputs[0]).type.dtype;
  if (!is_f32_or_f16(dt) || g.value(gather->inputs[0]).type.dtype != dt || g.value(gemm.inputs[1]).type.dtype != dt)
    return std::nullopt;
  if (fused) {  // bias [Co] of the rows' type, as the fused op computes it
    const auto b = static_dims(g, gemm.inputs[2]);
    if (!b || *b != Dims{(*w)[1]} || g.value(gemm.inputs[2]).type.dtype != dt) return std::nullopt;
  }
  if (g.value(gemm.outputs[0]).type.dtype != dt) return std::nullopt;
  return Match{gather, &gemm};
}

}  // namespace

int fuse_patch_embed_tokens(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> removed;
  for (const Match& m : found) {
    std::vector<std::string> in = {m.gather->inputs[0], m.gemm->inputs[1]};
    if (m.gemm->has_input(2)) in.push_back(m.gemm->inputs[2]);
    Node n = kiln_node(m.gemm->name, conv::kPatchEmbedTokensOp, in, m.gemm->outputs[0]);
    for (const auto& [name, value] : m.gather->attrs.all())
      if (name == "kernel_shape" || name == "strides" || name == "dilations" || name == "pads" || name == "auto_pad")
        n.attrs.set(name, value);
    added.push_back(std::move(n));
    removed.insert({m.gather, m.gemm});
  }
  replace_nodes(g, removed, std::move(added));
  return int(found.size());
}

}  // namespace kiln
