// The CPU reference backend: runs a graph node by node with each op's CPU kernel, freeing
// every intermediate after its last use (unless a ValueDone callback takes it first: kiln
// compare --per-layer). It is the oracle later GPU kernels are checked against.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln {

using TensorMap = std::map<std::string, Tensor>;

// Each tensor's dims, by name.
std::map<std::string, Dims> dims_of(const TensorMap& tensors);

// Checks that the inputs exist, carry the model's dtypes and fit its declared shapes; user
// errors name the input and what was expected.
void check_inputs(const Graph& g, const TensorMap& inputs);

class CpuExecutor {
 public:
  explicit CpuExecutor(const Graph& graph);

  // Called after each node with (nodes done, nodes in all): drives progress bars.
  using NodeDone = std::function<void(size_t done, size_t total)>;

  // Called with every node output as soon as it is computed (name, value). The value shares
  // its bytes: a callee that keeps the Tensor keeps the intermediate alive past its last use.
  using ValueDone = std::function<void(const std::string& name, const Tensor& value)>;

  // Runs the graph; returns every graph output by name.
  TensorMap run(const TensorMap& inputs, const NodeDone& on_node = {}, const ValueDone& on_value = {}) const;

 private:
  const Graph& graph_;
  std::vector<std::vector<std::string>> release_after_;  // per node: values dead after it
};

}  // namespace kiln
