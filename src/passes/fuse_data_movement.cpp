#include "passes/fuse_data_movement.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>

#include "ops/op.h"
#include "ops/tensor/remap.h"
#include "ops/tensor/remap_compile.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

using tensor_ops::RemapKind;
using tensor_ops::RemapStage;

// One link of a chain: a node (a Concat with its Slices) as stages on the value it reads.
struct Link {
  std::vector<const Node*> nodes;
  std::vector<RemapStage> stages;
  std::string input;
  int copies = 0;
  std::string fill;  // a Pad's constant_value ("" for zeros)
};

std::optional<std::vector<int64_t>> const_ints(const Graph& g, const Node& n, size_t slot) {
  if (!n.has_input(slot) || !g.is_constant(n.inputs[slot])) return std::nullopt;
  const Tensor& t = *g.value(n.inputs[slot]).constant;
  if (t.dtype() != DType::kI64 && t.dtype() != DType::kI32) return std::nullopt;
  return t.to_int64_vector();
}

// The slice stages of a Slice node on input dims `in` giving `out`, or nothing for forms the
// op does not hold (negative steps, non-constant bounds, empty results).
std::optional<std::vector<RemapStage>> slice_stages(const Graph& g, const Node& n, const Dims& in, const Dims& out) {
  auto starts = const_ints(g, n, 1), ends = const_ints(g, n, 2);
  if (!starts || !ends || starts->size() != ends->size()) return std::nullopt;
  std::vector<int64_t> axes, steps(starts->size(), 1);
  if (n.has_input(3)) {
    auto a = const_ints(g, n, 3);
    if (!a) return std::nullopt;
    axes = *a;
  } else {
    for (size_t i = 0; i < starts->size(); ++i) axes.push_back(int64_t(i));
  }
  if (n.has_input(4)) {
    auto s = const_ints(g, n, 4);
    if (!s) return std::nullopt;
    steps = *s;
  }
  if (axes.size() != starts->size() || steps.size() != starts->size()) return std::nullopt;
  const int64_t rank = int64_t(in.size());
  std::vector<RemapStage> stages;
  std::set<int64_t> seen;
  for (size_t k = 0; k < axes.size(); ++k) {
    const int64_t a = axes[k] < 0 ? axes[k] + rank : axes[k];
    if (a < 0 || a >= rank || !seen.insert(a).second || steps[k] < 1) return std::nullopt;
    const int64_t dim = in[size_t(a)], count = out[size_t(a)];
    const int64_t start = std::clamp<int64_t>((*starts)[k] < 0 ? (*starts)[k] + dim : (*starts)[k], 0, dim);
    if (count <= 0) return std::nullopt;
    if (start == 0 && steps[k] == 1 && count == dim) continue;
    stages.push_back(RemapStage::slice(a, start, steps[k], count));
  }
  return stages;
}

std::optional<std::vector<RemapStage>> pad_stages(const Graph& g, const Node& n, const Dims& in) {
  if (n.attrs.get_string("mode", "constant") != "constant") return std::nullopt;
  auto pads = const_ints(g, n, 1);
  if (!pads) return std::nullopt;
  const int64_t rank = int64_t(in.size());
  std::vector<int64_t> axes;
  if (n.has_input(3)) {
    auto a = const_ints(g, n, 3);
    if (!a) return std::nullopt;
    axes = *a;
  } else {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  if (pads->size() != 2 * axes.size()) return std::nullopt;
  std::vector<RemapStage> stages;
  for (size_t k = 0; k < axes.size(); ++k) {
    const int64_t a = axes[k] < 0 ? axes[k] + rank : axes[k];
    if (a < 0 || a >= rank) return std::nullopt;
    const int64_t b = (*pads)[k], e = (*pads)[k + axes.size()], dim = in[size_t(a)];
    if (b < 0 || e < 0) {  // a crop: the part of the axis that stays
      const int64_t count = dim - std::max<int64_t>(0, -b) - std::max<int64_t>(0, -e);
      if (count <= 0) return std::nullopt;
      stages.push_back(RemapStage::slice(a, std::max<int64_t>(0, -b), 1, count));
    }
    if (b > 0 || e > 0) stages.push_back(RemapStage::pad(a, std::max<int64_t>(0, b), std::max<int64_t>(0, e)));
  }
  return stages;
}

// Concat(Slice(x), Slice(x), ..., [x]) along one axis: pieces of x.
std::optional<Link> pieces_link(const Graph& g, const GraphIndex& idx, const Node& concat) {
  if (concat.inputs.size() < 2) return std::nullopt;
  const auto out = static_dims(g, concat.outputs[0]);
  if (!out) return std::nullopt;
  const int64_t rank = int64_t(out->size());
  int64_t axis = concat.attrs.get_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return std::nullopt;
  Link l{{&concat}, {}, "", 1, ""};
  RemapStage pieces{RemapKind::kPieces, {axis}};
  for (const std::string& v : concat.inputs) {
    const Node* s = idx.producer(v);
    std::string x = v;
    std::vector<RemapStage> st;
    if (is_op(s, "Slice") && s->outputs.size() == 1 && idx.used_only_by(v, concat)) {
      x = s->inputs[0];
      const auto in = static_dims(g, x), sd = static_dims(g, v);
      if (!in || !sd) return std::nullopt;
      auto ss = slice_stages(g, *s, *in, *sd);
      if (!ss || ss->size() > 1 || (ss->size() == 1 && ((*ss)[0].v[0] != axis || (*ss)[0].v[2] != 1)))
        return std::nullopt;
      pieces.v.push_back(ss->empty() ? 0 : (*ss)[0].v[1]);
      pieces.v.push_back((*sd)[size_t(axis)]);
      if (std::find(l.nodes.begin(), l.nodes.end(), s) == l.nodes.end()) {
        l.nodes.push_back(s);
        ++l.copies;
      }
    } else {
      const auto in = static_dims(g, x);
      if (!in) return std::nullopt;
      pieces.v.push_back(0);
      pieces.v.push_back((*in)[size_t(axis)]);
    }
    if (!l.input.empty() && l.input != x) return std::nullopt;  // pieces of different tensors
    l.input = x;
  }
  l.stages.push_back(std::move(pieces));
  return l;
}

std::optional<Link> as_link(const Graph& g, const GraphIndex& idx, const Node& n) {
  if (!n.domain.empty() || n.inputs.empty() || n.outputs.size() != 1) return std::nullopt;
  const std::string& op = n.op_type;
  if (op == "Concat") return pieces_link(g, idx, n);
  const auto in = static_dims(g, n.inputs[0]), out = static_dims(g, n.outputs[0]);
  if (!in || !out || in->size() > size_t(tensor_ops::kRemapMaxRank) || out->size() > size_t(tensor_ops::kRemapMaxRank))
    return std::nullopt;
  Link l{{&n}, {}, n.inputs[0], 1, ""};
  if (op == "Reshape" || op == "Squeeze" || op == "Unsqueeze" || op == "Flatten") {
    l.stages.push_back(RemapStage::reshape(*out));
    l.copies = 0;
  } else if (op == "Transpose") {
    std::vector<int64_t> perm = n.attrs.get_ints("perm", {});
    if (perm.empty())
      for (int64_t i = int64_t(in->size()) - 1; i >= 0; --i) perm.push_back(i);
    l.stages.push_back(RemapStage::transpose(perm));
  } else if (op == "Slice") {
    auto s = slice_stages(g, n, *in, *out);
    if (!s) return std::nullopt;
    l.stages = *s;
  } else if (op == "Pad") {
    auto s = pad_stages(g, n, *in);
    if (!s) return std::nullopt;
    l.stages = *s;
    if (n.has_input(2)) {
      if (!g.is_constant(n.inputs[2]) || g.value(n.inputs[2]).constant->numel() != 1) return std::nullopt;
      l.fill = n.inputs[2];
    }
  } else {
    return std::nullopt;
  }
  std::string error;  // the stages must give the node's own output dims
  Dims d = *in;
  for (const RemapStage& s : l.stages) {
    d = tensor_ops::remap_stage_dims(s, d, &error);
    if (!error.empty()) return std::nullopt;
  }
  if (d != *out) return std::nullopt;
  return l;
}

// The fill bytes of a link ("" means zeros), compared bit for bit between Pads.
std::vector<unsigned char> fill_bytes(const Graph& g, const std::string& fill, DType dt) {
  std::vector<unsigned char> b(dtype_size(dt), 0);
  if (!fill.empty()) std::memcpy(b.data(), g.value(fill).constant->raw(), b.size());
  return b;
}

struct Chain {
  std::vector<const Node*> nodes;
  std::vector<RemapStage> stages;
  std::string input, fill;
  const Node* last = nullptr;
  bool identity = false;  // the elements stay in order: a Reshape, no copy at all
};

bool has_pad(const Link& l) {
  return std::any_of(l.stages.begin(), l.stages.end(), [](const RemapStage& s) { return s.kind == RemapKind::kPad; });
}

// The longest fusable chain ending at `last`, from `links` (last's link first, then backward).
std::optional<Chain> best_chain(const Graph& g, const std::vector<Link>& links, const Node& last) {
  for (size_t k = links.size(); k-- > 0;) {
    Chain c{{}, {}, links[k].input, "", &last};
    const DType dt = g.value(c.input).type.dtype;
    int copies = 0;
    bool fills_agree = true;
    std::optional<std::vector<unsigned char>> bits;  // what the chain's Pads write
    for (size_t i = k + 1; i-- > 0;) {
      const Link& l = links[i];
      c.stages.insert(c.stages.end(), l.stages.begin(), l.stages.end());
      c.nodes.insert(c.nodes.end(), l.nodes.begin(), l.nodes.end());
      copies += l.copies;
      if (!has_pad(l)) continue;
      const std::vector<unsigned char> b = fill_bytes(g, l.fill, dt);
      if (bits && *bits != b) fills_agree = false;
      bits = b;
      if (!l.fill.empty()) c.fill = l.fill;
    }
    if (copies < 2 || !fills_agree || c.stages.empty()) continue;
    if (!bits || *bits == std::vector<unsigned char>(dtype_size(dt), 0)) c.fill.clear();  // zeros need no input
    const auto in = static_dims(g, c.input);
    const auto p = in ? tensor_ops::compile_remap(c.stages, *in) : std::nullopt;
    if (!p) continue;
    c.identity = p->axes == 0 && p->base == 0 && (p->factors == 0 || (p->factors == 1 && p->stride[0] == 1));
    return c;
  }
  return std::nullopt;
}

}  // namespace

int fuse_data_movement(Graph& g) {
  const GraphIndex idx(g);
  std::set<const Node*> claimed;
  std::vector<Chain> found;
  for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it) {  // chains are seen from their last node first
    const Node& last = *it;
    if (claimed.count(&last)) continue;
    std::vector<Link> links;
    for (const Node* n = &last; n && !claimed.count(n);) {
      auto l = as_link(g, idx, *n);
      if (!l) break;
      links.push_back(std::move(*l));
      const Link& cur = links.back();
      const std::string& v = cur.input;
      n = idx.producer(v);
      if (!n || idx.is_graph_output(v)) break;
      for (const Node* c : idx.consumers(v))
        if (std::find(cur.nodes.begin(), cur.nodes.end(), c) == cur.nodes.end()) n = nullptr;  // read elsewhere
    }
    if (links.empty()) continue;
    auto c = best_chain(g, links, last);
    if (!c || !claim_nodes(claimed, c->nodes)) continue;
    found.push_back(std::move(*c));
  }
  if (found.empty()) return 0;
  std::set<const Node*> removed;
  std::vector<Node> added;
  for (const Chain& c : found) {
    removed.insert(c.nodes.begin(), c.nodes.end());
    if (c.identity) {  // SegFormer's last stage: NHWC → NCHW → tokens again
      const Dims out = *static_dims(g, c.last->outputs[0]);
      const std::string shape = add_constant(g, c.last->name + "/shape", Tensor::from_vector<int64_t>({int64_t(out.size())}, out));
      added.push_back(onnx_node(g, c.last->name, "Reshape", {c.input, shape}, c.last->outputs[0]));
      continue;
    }
    Node n;
    n.op_type = tensor_ops::kRemapOp;
    n.domain = kKilnDomain;
    n.opset = 1;
    n.name = c.last->name;
    n.inputs = {c.input};
    if (!c.fill.empty()) n.inputs.push_back(c.fill);
    n.outputs = c.last->outputs;
    n.attrs.set("stages", tensor_ops::format_remap_stages(c.stages));
    added.push_back(std::move(n));
  }
  return replace_nodes(g, removed, std::move(added));
}

}  // namespace kiln
