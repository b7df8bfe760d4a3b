#include "passes/precision_islands.h"

#include "ops/norm/layer_norm_patch_rows.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

constexpr const char* kStream = "residual stream kept float32";
constexpr const char* kStreamStart = "start of a residual stream kept float32";
constexpr const char* kOutput = "model output written in float32";

// LayerNormalization, or kiln.LayerNormPatchRows: a LayerNorm whose Y (output 0, possibly unnamed)
// is read as LayerNormalization's and whose second output follows Y's type.
bool is_layer_norm(const Node* n) {
  return is_op(n, "LayerNormalization") || is_kiln_op(n, norm::kLayerNormPatchRowsOp);
}

// kiln.PatchEmbedTokens with its LayerNorm epilogue (fuse_patch_embed_layer_norm, where a graph
// is converted after the whole pipeline) and a bias: a stream start in one node, its float32
// bias, Scale and LB making Y float32.
bool is_normed_embed(const Node* n) { return is_kiln_op(n, "PatchEmbedTokens") && n->has_input(2) && n->has_input(3); }

bool is_int8_gemm(const Node* n) { return is_kiln_op(n, "Int8MatMul") || is_kiln_op(n, "Int8Conv"); }
// The first float32 slot of a GEMM's mixed form — the bias, then the residual — which decides its
// output type: Conv's, FusedMatMul's and PatchEmbedTokens' 2 (and 3), kiln.Int8MatMul's and
// kiln.Int8Conv's 4 (and 5; their bias is optional: without one there is no mixed form).
size_t bias_slot(const Node* n) { return is_int8_gemm(n) ? 4 : 2; }

bool is_residual_gemm(const Node* n) {
  return (is_kiln_op(n, "FusedMatMul") && n->has_input(3)) ||
         (is_kiln_op(n, "Int8MatMul") && n->has_input(4) && n->has_input(5));
}

// Ops that move elements without computing: they carry float32 at no cost in precision.
bool moves_data(const Node* n) {
  for (const char* op : {"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Identity"})
    if (is_op(n, op)) return true;
  return false;
}

class Finder {
 public:
  explicit Finder(const Graph& g) : g_(g), idx_(g) {
    r_.node_reason.assign(g.nodes.size(), "");
    r_.mixed_reason.assign(g.nodes.size(), "");
  }

  PrecisionIslands run() {
    mark_streams();
    for (const auto& o : g_.outputs)
      if (is_f32(o)) write_f32_from_gemm(o, kOutput);
    return std::move(r_);
  }

 private:
  size_t index(const Node* n) const { return size_t(n - g_.nodes.data()); }
  bool is_f32(const std::string& v) const { return !v.empty() && g_.value(v).type.dtype == DType::kF32; }

  // A node whose float inputs and outputs are all float32 (an fp32 model's node).
  bool all_f32(const Node& n) const {
    for (const auto& v : n.inputs)
      if (!v.empty() && dtype_is_float(g_.value(v).type.dtype) && !is_f32(v)) return false;
    for (const auto& v : n.outputs)
      if (!v.empty() && !is_f32(v)) return false;
    return true;
  }

  // Convs whose mixed form the CUDA backend runs (conv_cuda.cpp): groups 1, with a bias.
  bool mixable_conv(const Node* n) const {
    return is_op(n, "Conv") && n->has_input(2) && n->attrs.get_int("group", 1) == 1 && all_f32(*n);
  }

  // Follows data movement back from `value` to a Conv or FusedMatMul and has it write float32,
  // with the data movement between kept float32. False (nothing marked) if there is none.
  bool write_f32_from_gemm(const std::string& value, const char* why) {
    std::vector<const Node*> chain;
    const Node* p = idx_.producer(value);
    while (moves_data(p) && all_f32(*p)) {
      chain.push_back(p);
      p = idx_.producer(p->inputs[0]);
    }
    const bool gemm = mixable_conv(p) || (is_kiln_op(p, "FusedMatMul") && all_f32(*p)) ||
                      (is_kiln_op(p, "PatchEmbedTokens") && p->has_input(2) && all_f32(*p)) ||
                      (is_int8_gemm(p) && p->has_input(4) && all_f32(*p));
    if (!gemm) return false;
    const size_t i = index(p), b = bias_slot(p);
    r_.fp32_slots.insert({i, b});  // the bias decides the output type
    if (p->has_input(b + 1)) r_.fp32_slots.insert({i, b + 1});
    if (is_normed_embed(p) && p->has_input(4)) r_.fp32_slots.insert({i, 4});  // LB, as Scale (b + 1)
    if (r_.mixed_reason[i].empty()) r_.mixed_reason[i] = why;
    for (const Node* c : chain) r_.node_reason[index(c)] = why;
    return true;
  }

  // Residual streams: values that residual FusedMatMuls read and write, kept float32 where every
  // writer can write float32 (a residual FusedMatMul on the stream, or a LayerNormalization).
  void mark_streams() {
    std::set<std::string> s;
    for (const Node& n : g_.nodes)
      if (is_residual_gemm(&n) && all_f32(n)) s.insert({n.outputs[0], n.inputs[bias_slot(&n) + 1]});
    for (bool changed = true; changed;) {
      changed = false;
      for (auto it = s.begin(); it != s.end();) {
        const Node* p = idx_.producer(*it);
        const bool ok = p && p->outputs[0] == *it && all_f32(*p) &&
                        ((is_residual_gemm(p) && s.count(p->inputs[bias_slot(p) + 1])) || is_layer_norm(p) ||
                         is_normed_embed(p));
        if (ok) {
          ++it;
        } else {
          it = s.erase(it);
          changed = true;
        }
      }
    }
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node& n = g_.nodes[i];
      if (is_residual_gemm(&n) && s.count(n.outputs[0])) {
        r_.fp32_slots.insert({i, bias_slot(&n)});
        r_.fp32_slots.insert({i, bias_slot(&n) + 1});
        r_.mixed_reason[i] = kStream;
      }
      if (is_normed_embed(&n) && s.count(n.outputs[0])) {
        for (size_t slot = 2; slot < n.inputs.size(); ++slot)
          if (n.has_input(slot)) r_.fp32_slots.insert({i, slot});
        r_.mixed_reason[i] = kStreamStart;
      }
      if (!is_layer_norm(&n)) continue;
      const bool reads = s.count(n.inputs[0]) > 0, writes = s.count(n.outputs[0]) > 0;
      if (reads) r_.fp32_slots.insert({i, 0});  // Scale and B stay fp16 unless it also writes
      if (!writes) continue;
      r_.fp32_slots.insert({i, 1});
      if (n.has_input(2)) r_.fp32_slots.insert({i, 2});
      r_.mixed_reason[i] = reads ? kStream : kStreamStart;
      if (!reads && write_f32_from_gemm(n.inputs[0], kStreamStart)) r_.fp32_slots.insert({i, 0});
    }
  }

  const Graph& g_;
  GraphIndex idx_;
  PrecisionIslands r_;
};

}  // namespace

PrecisionIslands find_precision_islands(const Graph& g) { return Finder(g).run(); }

}  // namespace kiln
