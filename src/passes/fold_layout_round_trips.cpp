#include "passes/fold_layout_round_trips.h"

#include <map>
#include <optional>
#include <set>

#include "passes/pattern.h"

namespace kiln {
namespace {

constexpr int kMaxChain = 16;

bool is_view(const Node& n) {
  return n.domain.empty() && (n.op_type == "Reshape" || n.op_type == "Flatten" || n.op_type == "Squeeze" ||
                              n.op_type == "Unsqueeze");
}
bool is_layout(const Node& n) { return is_view(n) || (n.domain.empty() && n.op_type == "Transpose"); }

// A value's elements as atoms: axes of the start value, split where a later reshape cuts one.
// `order` lists the atoms outermost first as the current value stores them, `dims` groups them
// into its axes (extent-1 axes hold none), `origin` is the start value's order of the same atoms.
class AtomLayout {
 public:
  explicit AtomLayout(const Dims& dims) {
    for (int64_t d : dims) {
      dims_.emplace_back();
      if (d == 1) continue;
      dims_.back().push_back(atom(d));
      order_.push_back(dims_.back().back());
    }
    origin_ = order_;
  }

  bool transpose(const std::vector<int64_t>& perm) {
    if (perm.size() != dims_.size()) return false;
    std::vector<std::vector<int>> next;
    for (int64_t a : perm) {
      if (a < 0 || a >= int64_t(dims_.size())) return false;
      next.push_back(dims_[size_t(a)]);
    }
    dims_ = std::move(next);
    order_.clear();
    for (const auto& d : dims_) order_.insert(order_.end(), d.begin(), d.end());
    return true;
  }

  // Regroups the current order into `dims`, splitting an atom whose extent a new axis cuts.
  bool reshape(const Dims& dims) {
    std::vector<std::vector<int>> next;
    size_t i = 0;
    for (int64_t d : dims) {
      next.emplace_back();
      if (d <= 0) return false;
      int64_t have = 1;
      while (have < d) {
        if (i >= order_.size()) return false;
        const int a = order_[i];
        if (d % have != 0) return false;
        const int64_t need = d / have;
        if (size_[size_t(a)] > need) {  // the axis takes a's outer part
          if (size_[size_t(a)] % need != 0) return false;
          split(a, size_[size_t(a)] / need);
        }
        next.back().push_back(order_[i]);
        have *= size_[size_t(order_[i])];
        ++i;
      }
      if (have != d) return false;
    }
    if (i != order_.size()) return false;
    dims_ = std::move(next);
    return true;
  }

  bool identity() const { return order_ == origin_; }

 private:
  int atom(int64_t extent) {
    size_.push_back(extent);
    return int(size_.size()) - 1;
  }
  // a → (outer, inner) everywhere it appears; `inner` elements per step of outer.
  void split(int a, int64_t inner) {
    const int o = atom(size_[size_t(a)] / inner), in = atom(inner);
    const auto replace = [&](std::vector<int>& v) {
      for (size_t k = 0; k < v.size(); ++k)
        if (v[k] == a) {
          v[k] = in;
          v.insert(v.begin() + std::ptrdiff_t(k), o);
          return;
        }
    };
    replace(order_), replace(origin_);
    for (auto& d : dims_) replace(d);
  }

  std::vector<int64_t> size_;
  std::vector<int> order_, origin_;
  std::vector<std::vector<int>> dims_;
};

// Whether `chain` (nodes from the start value's reader to y's writer) maps every element home.
bool round_trip(const Graph& g, const std::string& start, const std::vector<const Node*>& chain) {
  const auto d0 = static_dims(g, start);
  if (!d0) return false;
  AtomLayout layout(*d0);
  for (const Node* n : chain) {
    const auto out = static_dims(g, n->outputs[0]);
    if (!out) return false;
    if (is_view(*n)) {
      if (!layout.reshape(*out)) return false;
      continue;
    }
    std::vector<int64_t> perm = n->attrs.get_ints("perm", {});
    const auto in = static_dims(g, n->inputs[0]);
    if (!in) return false;
    if (perm.empty())
      for (int64_t a = int64_t(in->size()) - 1; a >= 0; --a) perm.push_back(a);
    if (!layout.transpose(perm)) return false;
  }
  return layout.identity();
}

}  // namespace

int fold_layout_round_trips(Graph& g) {
  GraphIndex idx(g);
  std::map<std::string, std::string> renamed;  // y → the chain's start
  for (const Node& n : g.nodes) {
    if (!is_layout(n) || n.inputs.empty() || n.outputs.size() != 1 || idx.is_graph_output(n.outputs[0])) continue;
    const std::string& y = n.outputs[0];
    const auto dy = static_dims(g, y);
    if (!dy) continue;
    const DType ty = g.value(y).type.dtype;
    // Walk back through the chain; the farthest start that round-trips wins.
    std::vector<const Node*> chain = {&n};
    std::optional<std::string> found;
    for (int step = 0; step < kMaxChain; ++step) {
      const std::string& start = chain.front()->inputs[0];
      if (chain.size() >= 2 && g.has_value(start) && g.value(start).type.dtype == ty && static_dims(g, start) == dy &&
          round_trip(g, start, chain))
        found = start;
      const Node* p = idx.producer(start);
      if (!p || !is_layout(*p) || p->inputs.empty()) break;
      chain.insert(chain.begin(), p);
    }
    if (found) renamed[y] = *found;
  }
  if (renamed.empty()) return 0;
  for (Node& n : g.nodes)
    for (auto& in : n.inputs)
      if (auto it = renamed.find(in); it != renamed.end()) in = it->second;
  finish_rewrite(g);
  return int(renamed.size());
}

}  // namespace kiln
