#include "passes/fold_row_column_transposes.h"

#include <optional>
#include <set>

#include "ops/attention/row_column_read.h"
#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Fold {
  const Node* read = nullptr;
  std::vector<const Node*> gone;  // the Transposes and V's Reshape
  std::optional<std::string> v5;  // V in the token layout
  std::optional<std::string> y;   // the output in the token layout
};

bool has_perm(const Node* n, std::vector<int64_t> perm) {
  return is_op(n, "Transpose") && n->inputs.size() == 1 && n->outputs.size() == 1 &&
         n->attrs.get_ints("perm", {}) == perm;
}

// V2 = Reshape(Transpose(V5, 0,3,1,2,4)) merging exactly the last two dims, V5's W a_row's W
// (the read splits W·D by a_row's width; another split of the same product is another layout):
// V5.
std::optional<std::string> token_v(const Graph& g, const GraphIndex& idx, const Node& read, Fold& f) {
  const std::string& v2 = read.inputs[2];
  const Node* reshape = idx.producer(v2);
  if (!is_op(reshape, "Reshape") || reshape->outputs.size() != 1 || !idx.used_only_by(v2, read) ||
      read.inputs[0] == v2 || read.inputs[1] == v2)
    return std::nullopt;
  const Node* t = idx.producer(reshape->inputs[0]);
  if (!has_perm(t, {0, 3, 1, 2, 4}) || !idx.used_only_by(t->outputs[0], *reshape)) return std::nullopt;
  const Shape *s5 = shape_of_value(g, t->outputs[0]), *s4 = shape_of_value(g, v2);
  if (!s5 || !s4 || s5->size() != 5 || s4->size() != 4) return std::nullopt;
  const Shape &a = *s5, &b = *s4;
  if (!same_dim(a[0], b[0]) || !same_dim(a[1], b[1]) || !same_dim(a[2], b[2]) || !a[3].known() || !a[4].known() ||
      !b[3].known() || b[3].value != a[3].value * a[4].value)
    return std::nullopt;
  const Shape* row = shape_of_value(g, read.inputs[1]);
  if (!row || row->empty() || !row->back().known() || row->back().value != a[3].value) return std::nullopt;
  f.gone.push_back(t);
  f.gone.push_back(reshape);
  return t->inputs[0];
}

std::optional<Fold> match(const Graph& g, const GraphIndex& idx, const Node& read) {
  if (!is_kiln_op(&read, attention::kRowColumnReadOp) || read.inputs.size() != 3 || read.outputs.size() != 1)
    return std::nullopt;
  if (read.attrs.get_int("v_tokens", 0) != 0 || read.attrs.get_int("out_tokens", 0) != 0) return std::nullopt;
  const Shape* c = shape_of_value(g, read.inputs[0]);
  if (!c || c->size() != 4) return std::nullopt;
  Fold f;
  f.read = &read;
  f.v5 = token_v(g, idx, read, f);
  const Node* merge = idx.sole_consumer(read.outputs[0]);
  if (has_perm(merge, {0, 2, 1, 3})) {
    f.gone.push_back(merge);
    f.y = merge->outputs[0];
  }
  if (!f.v5 && !f.y) return std::nullopt;
  return f;
}

}  // namespace

int fold_row_column_transposes(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::set<const Node*> replaced;
  std::vector<Node> added;
  int transposes = 0;
  for (const Fold& f : found) {
    Node n = *f.read;
    if (f.v5) {
      n.inputs[2] = *f.v5;
      n.attrs.set("v_tokens", int64_t(1));
      ++transposes;
    }
    if (f.y) {
      n.outputs[0] = *f.y;
      n.attrs.set("out_tokens", int64_t(1));
      ++transposes;
    }
    replaced.insert(f.read);
    replaced.insert(f.gone.begin(), f.gone.end());
    added.push_back(std::move(n));
  }
  replace_nodes(g, replaced, std::move(added));
  return transposes;
}

}  // namespace kiln
