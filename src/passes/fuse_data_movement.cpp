#include "passes/fuse_data_movement.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
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

// The slice stages of a Slice node on input dims `in` giving `out`, or nothing for forms the
// op does not hold (negative steps, non-constant bounds, empty results).
std::optional<std::vector<RemapStage>> slice_stages(const Graph& g, const Node& n, const Dims& in, const Dims& out) {
  auto starts = constant_ints(g, n, 1), ends = constant_ints(g, n, 2);
  if (!starts || !ends || starts->size() != ends->size()) return std::nullopt;
  std::vector<int64_t> axes, steps(starts->size(), 1);
  if (n.has_input(3)) {
    auto a = constant_ints(g, n, 3);
    if (!a) return std::nullopt;
    axes = *a;
  } else {
    for (size_t i = 0; i < starts->size(); ++i) axes.push_back(int64_t(i));
  }
  if (n.has_input(4)) {
    auto s = constant_ints(g, n, 4);
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
  auto pads = constant_ints(g, n, 1);
  if (!pads) return std::nullopt;
  const int64_t rank = int64_t(in.size());
  std::vector<int64_t> axes;
  if (n.has_input(3)) {
    auto a = constant_ints(g, n, 3);
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

// One Concat input as a slice of the common tensor: the value it reads through a chain of
// Slices, and per axis (start, step, count) where the chain slices it.
struct SlicedInput {
  std::string x;
  std::map<int64_t, std::array<int64_t, 3>> axes;
  std::vector<const Node*> slices;
};

std::optional<SlicedInput> sliced_input(const Graph& g, const GraphIndex& idx, std::string v) {
  SlicedInput in;
  for (const Node* s = idx.producer(v); is_op(s, "Slice") && s->outputs.size() == 1 && in.slices.size() < 8;
       s = idx.producer(v)) {
    const auto d = static_dims(g, s->inputs[0]), sd = static_dims(g, v);
    if (!d || !sd) return std::nullopt;
    auto st = slice_stages(g, *s, *d, *sd);
    if (!st) return std::nullopt;
    for (const RemapStage& r : *st)
      if (!in.axes.emplace(r.v[0], std::array<int64_t, 3>{r.v[1], r.v[2], r.v[3]}).second)
        return std::nullopt;  // the same axis sliced twice
    in.slices.push_back(s);
    v = s->inputs[0];
  }
  in.x = v;
  return in;
}

// Concat(Slice(x), Slice(x), ..., [x]) along one axis, every Slice along that axis with step 1:
// pieces of x (torch.roll). Or Concat of inputs that each take every step-th element of the same
// axes of x from another start (Swin's patch merging: x[0::2, 0::2], x[1::2, 0::2], ... along
// the channels): x with those axes split, their inner parts moved before the Concat's axis and
// picked in the Concat's order.
std::optional<Link> pieces_link(const Graph& g, const GraphIndex& idx, const Node& concat) {
  if (concat.inputs.size() < 2) return std::nullopt;
  const auto out = static_dims(g, concat.outputs[0]);
  if (!out) return std::nullopt;
  const int64_t rank = int64_t(out->size());
  int64_t axis = concat.attrs.get_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return std::nullopt;
  Link l{{&concat}, {}, "", 0, ""};
  std::vector<SlicedInput> ins;
  for (const std::string& v : concat.inputs) {
    auto in = sliced_input(g, idx, v);
    if (!in || (!l.input.empty() && l.input != in->x)) return std::nullopt;  // pieces of different tensors
    l.input = in->x;
    for (const Node* s : in->slices)
      if (std::find(l.nodes.begin(), l.nodes.end(), s) == l.nodes.end()) l.nodes.push_back(s);
    ins.push_back(std::move(*in));
  }
  for (const Node* n : l.nodes)  // every Slice's output read only inside the Concat's tree
    for (const std::string& o : n == &concat ? std::vector<std::string>{} : n->outputs)
      if (!idx.used_only_within(o, l.nodes)) return std::nullopt;
  l.copies = int(l.nodes.size());
  const auto xd = static_dims(g, l.input);
  if (!xd || int64_t(xd->size()) != rank) return std::nullopt;
  const bool roll = std::all_of(ins.begin(), ins.end(), [&](const SlicedInput& in) {
    return in.axes.empty() || (in.axes.size() == 1 && in.axes.count(axis) && in.axes.at(axis)[1] == 1);
  });
  if (roll) {
    RemapStage pieces{RemapKind::kPieces, {axis}};
    for (const SlicedInput& in : ins) {
      const bool sliced = !in.axes.empty();
      pieces.v.push_back(sliced ? in.axes.at(axis)[0] : 0);
      pieces.v.push_back(sliced ? in.axes.at(axis)[2] : (*xd)[size_t(axis)]);
    }
    l.stages.push_back(std::move(pieces));
    return l;
  }
  // The interleaved form: the same axes, steps and counts everywhere, each axis tiled exactly.
  const auto& first = ins[0].axes;
  if (first.count(axis)) return std::nullopt;
  for (const SlicedInput& in : ins) {
    if (in.axes.size() != first.size()) return std::nullopt;
    for (const auto& [a, sl] : in.axes) {
      if (!first.count(a) || first.at(a)[1] != sl[1] || first.at(a)[2] != sl[2]) return std::nullopt;
      if (sl[0] >= sl[1] || (*xd)[size_t(a)] != sl[1] * sl[2]) return std::nullopt;
    }
  }
  // x with each sliced axis split into (count, step); the step parts, in axis order, moved just
  // before the Concat's axis and merged into one axis of the pieces' places.
  Dims split, merged;
  std::vector<int64_t> perm;
  int64_t places = 1;
  for (int64_t i = 0, at = 0; i < rank; ++i) {
    const bool sliced = first.count(i) != 0;
    if (sliced) split.insert(split.end(), {first.at(i)[2], first.at(i)[1]});
    else split.push_back((*xd)[size_t(i)]);
    if (i == axis) {
      for (const auto& [a, sl] : first) {
        int64_t pos = 1;  // the step part follows the count part
        for (int64_t k = 0; k < a; ++k) pos += first.count(k) ? 2 : 1;
        perm.push_back(pos);
        places *= sl[1];
      }
      merged.push_back(places);
    }
    perm.push_back(at);
    merged.push_back(sliced ? first.at(i)[2] : (*xd)[size_t(i)]);
    at += sliced ? 2 : 1;
  }
  const int64_t qaxis = axis;  // the merged inner parts sit where the Concat's axis was
  RemapStage pieces{RemapKind::kPieces, {qaxis}};
  for (const SlicedInput& in : ins) {
    int64_t q = 0;
    for (const auto& [a, sl] : in.axes) q = q * sl[1] + sl[0];
    pieces.v.push_back(q);
    pieces.v.push_back(1);
  }
  l.stages = {RemapStage::reshape(split), RemapStage::transpose(perm), RemapStage::reshape(merged), std::move(pieces),
              RemapStage::reshape(*out)};
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
      n = idx.used_only_within(v, cur.nodes) ? idx.producer(v) : nullptr;  // not when read elsewhere
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
    if (c.identity)  // SegFormer's last stage: NHWC → NCHW → tokens again
      if (const auto shape = reshape_target(g, c.last->name, c.last->outputs[0])) {
        added.push_back(onnx_node(g, c.last->name, "Reshape", {c.input, *shape}, c.last->outputs[0]));
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
