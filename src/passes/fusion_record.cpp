#include "passes/fusion_record.h"

#include <map>
#include <numeric>
#include <set>

namespace kiln {
namespace {

std::string op_label(const Node& n) { return n.domain.empty() ? n.op_type : n.domain + "." + n.op_type; }

struct UnionFind {
  std::vector<size_t> parent;
  explicit UnionFind(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), size_t(0)); }
  size_t find(size_t i) { return parent[i] == i ? i : parent[i] = find(parent[i]); }
  void join(size_t a, size_t b) { parent[find(a)] = find(b); }
};

}  // namespace

std::vector<NodeSignature> node_signatures(const Graph& g) {
  std::vector<NodeSignature> out;
  out.reserve(g.nodes.size());
  for (const auto& n : g.nodes) out.push_back({{op_label(n), n.name}, n.inputs, n.outputs});
  return out;
}

std::vector<FusionRecord> diff_rewrites(const std::string& pass, const std::vector<NodeSignature>& before,
                                        const std::vector<NodeSignature>& after) {
  // Nodes present, identical, on both sides did not change.
  auto key = [](const NodeSignature& s) {
    std::string k = s.ref.op;
    for (const auto& i : s.inputs) k += "\x1f" + i;
    k += "\x1e";
    for (const auto& o : s.outputs) k += "\x1f" + o;
    return std::make_pair(s.ref.name, k);
  };
  std::multiset<std::pair<std::string, std::string>> before_keys, after_keys;
  for (const auto& s : before) before_keys.insert(key(s));
  for (const auto& s : after) after_keys.insert(key(s));
  // Changed nodes: replaced ones first, then added ones, indexed together.
  std::vector<const NodeSignature*> changed;
  size_t n_replaced = 0;
  for (const auto& s : before)
    if (!after_keys.count(key(s))) changed.push_back(&s), ++n_replaced;
  for (const auto& s : after)
    if (!before_keys.count(key(s))) changed.push_back(&s);
  if (changed.empty()) return {};

  UnionFind uf(changed.size());
  std::map<std::string, std::vector<size_t>> written_by_replaced, read_by_replaced, written_by_added, read_by_added,
      by_name;
  for (size_t i = 0; i < changed.size(); ++i) {
    const bool replaced = i < n_replaced;
    for (const auto& t : changed[i]->outputs)
      if (!t.empty()) (replaced ? written_by_replaced : written_by_added)[t].push_back(i);
    for (const auto& t : changed[i]->inputs)
      if (!t.empty()) (replaced ? read_by_replaced : read_by_added)[t].push_back(i);
    by_name[changed[i]->ref.name].push_back(i);
  }
  auto join_all = [&](const std::vector<size_t>& a, const std::vector<size_t>& b) {
    for (size_t x : a)
      for (size_t y : b) uf.join(x, y);
  };
  for (const auto& [t, writers] : written_by_replaced) {
    if (auto r = read_by_replaced.find(t); r != read_by_replaced.end()) join_all(writers, r->second);
    if (auto w = written_by_added.find(t); w != written_by_added.end()) join_all(writers, w->second);
  }
  for (const auto& [t, writers] : written_by_added)
    if (auto r = read_by_added.find(t); r != read_by_added.end()) join_all(writers, r->second);
  for (const auto& [name, same] : by_name) join_all({same.front()}, same);

  std::map<size_t, FusionRecord> groups;  // keyed by root, in order of first appearance below
  std::vector<size_t> order;
  for (size_t i = 0; i < changed.size(); ++i) {
    const size_t root = uf.find(i);
    auto [it, fresh] = groups.try_emplace(root);
    if (fresh) {
      it->second.pass = pass;
      order.push_back(root);
    }
    (i < n_replaced ? it->second.replaced : it->second.added).push_back(changed[i]->ref);
  }
  std::vector<FusionRecord> out;
  for (size_t root : order) out.push_back(std::move(groups[root]));
  return out;
}

}  // namespace kiln
