#include "ir/graph.h"

#include <algorithm>
#include <set>
#include <unordered_map>

namespace kiln {

std::string Node::describe() const {
  return op_type + " '" + name + "'";
}

Value& Graph::value(const std::string& n) {
  auto it = values.find(n);
  if (it == values.end()) fail(ErrorCode::kInvalidModel, "value '" + n + "' is used but never defined");
  return it->second;
}

const Value& Graph::value(const std::string& n) const {
  auto it = values.find(n);
  if (it == values.end()) fail(ErrorCode::kInvalidModel, "value '" + n + "' is used but never defined");
  return it->second;
}

bool Graph::is_constant(const std::string& n) const {
  auto it = values.find(n);
  return it != values.end() && it->second.constant.has_value();
}

void Graph::sort_topologically() {
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& o : nodes[i].outputs)
      if (!o.empty()) {
        if (!producer.emplace(o, i).second || is_constant(o) ||
            std::find(inputs.begin(), inputs.end(), o) != inputs.end())
          fail(ErrorCode::kInvalidModel, "value '" + o + "' is produced more than once (node " +
                                             nodes[i].describe() + ")");
      }
  // Iterative DFS: 0 = unvisited, 1 = on stack, 2 = done.
  std::vector<int> state(nodes.size(), 0);
  std::vector<Node> order;
  order.reserve(nodes.size());
  for (size_t root = 0; root < nodes.size(); ++root) {
    if (state[root]) continue;
    std::vector<std::pair<size_t, size_t>> stack{{root, 0}};
    state[root] = 1;
    while (!stack.empty()) {
      auto& [n, next_input] = stack.back();
      if (next_input < nodes[n].inputs.size()) {
        const std::string& in = nodes[n].inputs[next_input++];
        if (in.empty()) continue;
        auto it = producer.find(in);
        if (it == producer.end()) {
          if (!has_value(in))
            fail(ErrorCode::kInvalidModel, "node " + nodes[n].describe() + " reads '" + in +
                                               "', which no node, input or initializer defines");
          continue;
        }
        size_t p = it->second;
        if (state[p] == 1)
          fail(ErrorCode::kInvalidModel, "the graph has a cycle through node " + nodes[p].describe());
        if (state[p] == 0) {
          state[p] = 1;
          stack.push_back({p, 0});
        }
      } else {
        state[n] = 2;
        order.push_back(std::move(nodes[n]));
        stack.pop_back();
      }
    }
  }
  nodes = std::move(order);
}

void Graph::remove_dead_nodes() {
  std::set<std::string> live(outputs.begin(), outputs.end());
  std::vector<Node> kept;
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    bool used = false;
    for (const auto& o : it->outputs) used |= !o.empty() && live.count(o);
    if (!used) continue;
    for (const auto& i : it->inputs)
      if (!i.empty()) live.insert(i);
    kept.push_back(std::move(*it));
  }
  nodes.assign(std::make_move_iterator(kept.rbegin()), std::make_move_iterator(kept.rend()));
  for (const auto& i : inputs) live.insert(i);
  for (const auto& n : nodes)
    for (const auto& o : n.outputs) live.insert(o);
  for (auto it = values.begin(); it != values.end();)
    it = live.count(it->first) ? std::next(it) : values.erase(it);
}

std::map<std::string, int> Graph::op_histogram() const {
  std::map<std::string, int> h;
  for (const auto& n : nodes) ++h[n.domain.empty() ? n.op_type : n.domain + "." + n.op_type];
  return h;
}

}  // namespace kiln
