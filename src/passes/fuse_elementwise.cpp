#include "passes/fuse_elementwise.h"

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <set>

#include "ops/elementwise/pointwise_program.h"
#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

using ew::PwInstr;
using ew::PwOp;

// The instruction a node would be (operands unset), or nothing when the node is not one the
// program can hold with these types.
std::optional<PwInstr> as_instruction(const Graph& g, const Node& n) {
  if (!n.domain.empty() || n.outputs.size() != 1 || !g.has_value(n.outputs[0])) return std::nullopt;
  PwInstr in{};
  if (!ew::pw_op_from_name(n.op_type, &in.op)) return std::nullopt;
  if (n.inputs.size() != size_t(ew::pw_arity(in.op))) return std::nullopt;
  DType t[3] = {};
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i].empty() || !g.has_value(n.inputs[i])) return std::nullopt;
    t[i] = g.value(n.inputs[i]).type.dtype;
    if (!ew::pw_value_dtype(t[i])) return std::nullopt;
  }
  if (in.op == PwOp::kCast) {
    if (!n.attrs.has("to")) return std::nullopt;
    in.param = n.attrs.get_int("to");
  } else if (in.op == PwOp::kGelu) {
    const std::string mode = n.attrs.get_string("approximate", "none");
    if (mode != "none" && mode != "tanh") return std::nullopt;
    in.param = mode == "tanh";
  }
  std::string why;
  in.dtype = ew::pw_result_dtype(in, t, &why);
  const ValueType& out = g.value(n.outputs[0]).type;
  if (in.dtype == DType::kUndefined || in.dtype != out.dtype || !out.shape) return std::nullopt;
  return in;
}

bool same_shape(const Graph& g, const std::string& a, const std::string& b) {
  const Shape *sa = shape_of_value(g, a), *sb = shape_of_value(g, b);
  if (!sa || !sb || sa->size() != sb->size()) return false;
  for (size_t i = 0; i < sa->size(); ++i)
    if (!same_dim((*sa)[i], (*sb)[i])) return false;
  return true;
}

int find(std::vector<int>& parent, int i) {
  while (parent[size_t(i)] != i) i = parent[size_t(i)] = parent[size_t(parent[size_t(i)])];
  return i;
}

// Groups accepted so far: a path through one of them may go from any of its nodes' inputs to
// any of its outputs once it is one node.
struct Accepted {
  std::map<const Node*, size_t> group_of;
  std::vector<std::vector<const Node*>> members;
};

// The members of `group` that a path from the group reaches through a node outside it
// (accepted groups taken whole): fused as one node with the rest, the node would read what it
// writes. Empty when the group can be one node.
std::set<const Node*> reached_from_outside(const GraphIndex& idx, const std::set<const Node*>& group,
                                           const Accepted& accepted) {
  std::vector<const Node*> stack;
  std::set<const Node*> seen, reached;
  auto visit = [&](const Node* c) {
    if (!seen.insert(c).second) return;
    stack.push_back(c);
    if (group.count(c)) reached.insert(c);
    if (auto it = accepted.group_of.find(c); it != accepted.group_of.end())
      for (const Node* m : accepted.members[it->second])
        if (seen.insert(m).second) stack.push_back(m);
  };
  for (const Node* n : group)
    for (const auto& o : n->outputs)
      for (const Node* c : idx.consumers(o))
        if (!group.count(c)) visit(c);
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    for (const auto& o : n->outputs)
      for (const Node* c : idx.consumers(o)) visit(c);
  }
  return reached;
}

struct Group {
  std::vector<const Node*> nodes;  // graph (topological) order
  std::vector<PwInstr> code;
};

// The group as one Pointwise node, or nothing when it is too wide for the kernel.
std::optional<Node> make_node(const Graph& g, const GraphIndex& idx, const Group& grp) {
  std::set<const Node*> members(grp.nodes.begin(), grp.nodes.end());
  std::map<std::string, int32_t> number;  // value → program value number
  std::vector<std::string> inputs, outputs;
  for (const Node* n : grp.nodes)
    for (const auto& v : n->inputs)
      if (!members.count(idx.producer(v)) && !number.count(v)) {
        number[v] = int32_t(inputs.size());
        inputs.push_back(v);
      }
  if (inputs.size() > size_t(ew::kPointwiseMaxInputs)) return std::nullopt;
  ew::PwProgram p;
  p.num_inputs = int(inputs.size());
  for (size_t k = 0; k < grp.nodes.size(); ++k) {
    const Node* n = grp.nodes[k];
    PwInstr in = grp.code[k];
    for (size_t i = 0; i < n->inputs.size(); ++i) in.args[i] = number.at(n->inputs[i]);
    number[n->outputs[0]] = int32_t(p.num_inputs + p.code.size());
    p.code.push_back(in);
    const std::string& o = n->outputs[0];
    bool read_outside = idx.is_graph_output(o);
    for (const Node* c : idx.consumers(o)) read_outside |= !members.count(c);
    if (read_outside) {
      p.results.push_back(int32_t(k));
      outputs.push_back(o);
    }
  }
  if (outputs.empty() || outputs.size() > size_t(ew::kPointwiseMaxOutputs)) return std::nullopt;
  Node fused;
  fused.op_type = ew::kPointwiseOp;
  fused.domain = kKilnDomain;
  fused.opset = 1;
  fused.name = grp.nodes.back()->name;
  fused.inputs = inputs;
  fused.outputs = outputs;
  ew::write_pw_program(p, fused.attrs);
  return fused;
}

}  // namespace

int fuse_elementwise(Graph& g) {
  const GraphIndex idx(g);
  const size_t n = g.nodes.size();
  std::map<const Node*, int> index;
  std::vector<std::optional<PwInstr>> instr(n);
  for (size_t i = 0; i < n; ++i) {
    index[&g.nodes[i]] = int(i);
    instr[i] = as_instruction(g, g.nodes[i]);
  }
  // Join a node with its readers when every reader is an instruction of the same shape and the
  // value is not a graph output: the value is then an intermediate of one group.
  std::vector<int> parent(n);
  std::iota(parent.begin(), parent.end(), 0);
  for (size_t i = 0; i < n; ++i) {
    if (!instr[i]) continue;
    const std::string& out = g.nodes[i].outputs[0];
    const auto& readers = idx.consumers(out);
    if (readers.empty() || idx.is_graph_output(out)) continue;
    const bool inner = std::all_of(readers.begin(), readers.end(), [&](const Node* c) {
      return instr[size_t(index.at(c))] && same_shape(g, c->outputs[0], out);
    });
    if (!inner) continue;
    for (const Node* c : readers) parent[size_t(find(parent, index.at(c)))] = find(parent, int(i));
  }
  std::map<int, Group> groups;
  for (size_t i = 0; i < n; ++i)
    if (instr[i]) {
      Group& grp = groups[find(parent, int(i))];
      grp.nodes.push_back(&g.nodes[i]);
      grp.code.push_back(*instr[i]);
    }
  std::set<const Node*> replaced;
  std::vector<Node> fused;
  Accepted accepted;
  // A group that an outside path re-enters splits into the part before (which no such path
  // reaches, so it is one node) and the part reached, which is tried again the same way.
  std::function<void(const Group&)> take = [&](const Group& grp) {
    if (grp.nodes.size() < 2) return;
    const std::set<const Node*> members(grp.nodes.begin(), grp.nodes.end());
    const std::set<const Node*> reached = reached_from_outside(idx, members, accepted);
    if (!reached.empty()) {
      Group before, after;
      for (size_t k = 0; k < grp.nodes.size(); ++k) {
        Group& part = reached.count(grp.nodes[k]) ? after : before;
        part.nodes.push_back(grp.nodes[k]);
        part.code.push_back(grp.code[k]);
      }
      take(before);
      take(after);
      return;
    }
    std::optional<Node> node = make_node(g, idx, grp);
    if (!node) return;
    for (const Node* m : grp.nodes) accepted.group_of[m] = accepted.members.size();
    accepted.members.push_back(grp.nodes);
    replaced.insert(members.begin(), members.end());
    fused.push_back(std::move(*node));
  };
  for (const auto& [root, grp] : groups) take(grp);
  if (fused.empty()) return 0;
  return replace_nodes(g, replaced, std::move(fused));
}

}  // namespace kiln
