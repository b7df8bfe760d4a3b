#include "passes/eliminate_noops.h"

#include <algorithm>
#include <set>

#include "passes/pattern.h"

namespace kiln {
namespace {

// Makes n a Reshape of `input` to n's static output dims, the target written out in full (no
// 0 "copy" entries, no -1). False, leaving n alone, when the output dims are unknown or hold a
// 0, which a Reshape target would read as "copy".
bool become_reshape(Graph& g, Node& n, const std::string& input) {
  const std::optional<std::string> shape = reshape_target(g, n.name, n.outputs[0]);
  if (!shape) return false;
  n.op_type = "Reshape";
  n.inputs = {input, *shape};
  n.attrs = Attributes{};
  return true;
}

bool same_type(const Graph& g, const std::string& a, const std::string& b) {
  auto da = static_dims(g, a), db = static_dims(g, b);
  return da && db && *da == *db && g.value(a).type.dtype == g.value(b).type.dtype;
}

bool all_ones_or_absent(const Graph& g, const Node& n, size_t slot) {
  if (!n.has_input(slot)) return true;
  if (!g.is_constant(n.inputs[slot])) return false;
  const Tensor& t = *g.value(n.inputs[slot]).constant;
  for (int64_t i = 0; i < t.numel(); ++i)
    if (t.at_double(i) != 1) return false;
  return true;
}

// The node returns its first input unchanged.
bool is_noop(const Graph& g, const Node& n) {
  if (!n.domain.empty() || n.inputs.empty() || n.outputs.empty() || n.outputs[0].empty()) return false;
  for (size_t o = 1; o < n.outputs.size(); ++o)
    if (!n.outputs[o].empty()) return false;  // Dropout's mask, for one, must still be made
  const std::string& op = n.op_type;
  const std::string &x = n.inputs[0], &y = n.outputs[0];
  if (!same_type(g, x, y)) return false;
  if (op == "Identity" || op == "Cast" || op == "Reshape" || op == "Flatten" || op == "Squeeze" ||
      op == "Unsqueeze" || op == "Expand")
    return true;
  if (op == "Dropout") return !n.has_input(2) || (g.is_constant(n.inputs[2]) && g.value(n.inputs[2]).constant->at_double(0) == 0);
  if (op == "Transpose") {
    std::vector<int64_t> perm = n.attrs.get_ints("perm", {});
    if (perm.empty()) return static_dims(g, x)->size() <= 1;  // no perm: the axes reversed
    for (size_t i = 0; i < perm.size(); ++i)
      if (perm[i] != int64_t(i)) return false;
    return true;
  }
  if (op == "Slice") return all_ones_or_absent(g, n, 4);
  if (op == "Resize") return n.attrs.get_string("coordinate_transformation_mode", "half_pixel") != "tf_crop_and_resize";
  return false;
}

// A Where whose condition is a constant of one value returns one of its branches: its index
// (1 or 2) when that branch has the output's dims and dtype (no broadcast to undo), else 0.
// Mask2Former's pixel decoder fills padded positions of its values with 0 under a padding mask
// that is all false once folded (its inputs are never padded).
size_t where_branch(const Graph& g, const Node& n) {
  if (!n.domain.empty() || n.op_type != "Where" || n.inputs.size() != 3 || n.outputs.size() != 1 ||
      !g.is_constant(n.inputs[0]))
    return 0;
  const Tensor& c = *g.value(n.inputs[0]).constant;
  if (c.dtype() != DType::kBool || c.numel() == 0) return 0;
  const bool* v = c.data<bool>();
  if (std::any_of(v, v + c.numel(), [&](bool b) { return b != v[0]; })) return 0;
  const size_t branch = v[0] ? 1 : 2;
  return same_type(g, n.inputs[branch], n.outputs[0]) ? branch : 0;
}

// Second of two chained Reshapes/Transposes whose first output feeds only it: made to read the
// first's input directly. The first then has no reader and goes.
bool merge_into(Graph& g, const GraphIndex& idx, Node& second) {
  if (!second.domain.empty() || second.inputs.empty()) return false;
  const Node* first = idx.producer(second.inputs[0]);
  if (!first || !first->domain.empty() || first->op_type != second.op_type || !idx.used_only_by(second.inputs[0], second))
    return false;
  // A 0 in the old target copied a dim of the first's output: become_reshape writes it out.
  if (second.op_type == "Reshape") return become_reshape(g, second, first->inputs[0]);
  if (second.op_type == "Transpose") {
    std::vector<int64_t> p = first->attrs.get_ints("perm", {}), q = second.attrs.get_ints("perm", {});
    if (p.empty() || q.empty() || p.size() != q.size()) return false;
    std::vector<int64_t> r(q.size());
    for (size_t i = 0; i < q.size(); ++i) r[i] = p[size_t(q[i])];
    second.inputs[0] = first->inputs[0];
    second.attrs.set("perm", r);
    return true;
  }
  return false;
}

// A Transpose that only moves axes of size 1 keeps every element where it is: a Reshape, which
// costs nothing on either backend (SegFormer's one-head attention at stage 0 splits and merges
// its "heads" this way). Returns whether n was rewritten.
bool transpose_as_reshape(Graph& g, Node& n) {
  if (!n.domain.empty() || n.op_type != "Transpose" || n.inputs.empty()) return false;
  auto in = static_dims(g, n.inputs[0]);
  std::vector<int64_t> perm = n.attrs.get_ints("perm", {});
  if (!in || perm.size() != in->size()) return false;
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == int64_t(i);
  if (identity) return false;  // removed outright below
  int64_t last = -1;
  for (int64_t axis : perm) {
    if (axis < 0 || axis >= int64_t(in->size())) return false;
    if ((*in)[size_t(axis)] == 1) continue;
    if (axis < last) return false;  // two axes of extent > 1 change order: a real transpose
    last = axis;
  }
  return become_reshape(g, n, n.inputs[0]);
}

}  // namespace

int eliminate_noops(Graph& g) {
  int removed = 0;
  std::set<std::string> outputs(g.outputs.begin(), g.outputs.end());
  std::map<std::string, std::string> renamed;  // removed output → the value it stood for
  auto resolve = [&](std::string v) {
    for (auto it = renamed.find(v); it != renamed.end(); it = renamed.find(v)) v = it->second;
    return v;
  };
  for (Node& n : g.nodes) removed += transpose_as_reshape(g, n);
  {
    GraphIndex idx(g);
    for (Node& n : g.nodes) removed += merge_into(g, idx, n);
  }
  std::vector<Node> kept;
  for (Node& n : g.nodes) {
    for (auto& in : n.inputs)
      if (!in.empty()) in = resolve(in);
    if (is_noop(g, n) && !outputs.count(n.outputs[0])) {
      renamed[n.outputs[0]] = n.inputs[0];
      ++removed;
      continue;
    }
    if (const size_t branch = where_branch(g, n); branch && !outputs.count(n.outputs[0])) {
      renamed[n.outputs[0]] = n.inputs[branch];
      ++removed;
      continue;
    }
    kept.push_back(std::move(n));
  }
  g.nodes = std::move(kept);
  finish_rewrite(g);
  return removed;
}

}  // namespace kiln
