// The graph IR: named values (with types and, for constants, data), nodes in topological
// order, and the graph's inputs and outputs. Passes rewrite it in place.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/attributes.h"
#include "ir/shape.h"

namespace kiln {

struct Value {
  std::string name;
  ValueType type;
  std::optional<Tensor> constant;  // initializers and folded values
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" is the default ONNX domain
  int opset = 0;       // the model's opset version for this node's domain
  std::vector<std::string> inputs;  // "" marks an omitted optional input
  std::vector<std::string> outputs;
  Attributes attrs;

  // "Conv 'node_name'" for messages.
  std::string describe() const;
  bool has_input(size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;                // topological order
  std::map<std::string, Value> values;    // every named value: inputs, constants, node outputs
  std::vector<std::string> inputs;        // runtime inputs (not constants)
  std::vector<std::string> outputs;
  std::map<std::string, int> opsets;      // domain → version
  std::map<std::string, int> source_ops;  // op histogram of the source file, before any pass

  Value& value(const std::string& name);
  const Value& value(const std::string& name) const;
  bool has_value(const std::string& name) const { return values.count(name) != 0; }
  bool is_constant(const std::string& name) const;

  // Reorders nodes topologically; throws kInvalidModel naming a node on a cycle or a value
  // used before it is produced.
  void sort_topologically();
  // Drops nodes whose outputs reach no graph output, and values nothing refers to.
  void remove_dead_nodes();
  std::map<std::string, int> op_histogram() const;
};

}  // namespace kiln
