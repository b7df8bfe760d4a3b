#include "runtime/cpu_executor.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "ops/registry.h"

namespace kiln {

std::map<std::string, Dims> dims_of(const TensorMap& tensors) {
  std::map<std::string, Dims> d;
  for (const auto& [name, t] : tensors) d[name] = t.dims();
  return d;
}

void check_inputs(const Graph& g, const TensorMap& inputs) {
  for (const auto& [name, t] : inputs)
    if (std::find(g.inputs.begin(), g.inputs.end(), name) == g.inputs.end())
      fail(ErrorCode::kInvalidArgument, "the model has no input named '" + name + "'");
  for (const std::string& name : g.inputs) {
    auto it = inputs.find(name);
    if (it == inputs.end())
      fail(ErrorCode::kInvalidArgument, "missing input '" + name + "' (" +
                                            g.value(name).type.to_string() +
                                            "): pass --input " + name + "=FILE.npy");
    const Tensor& t = it->second;
    const ValueType& want = g.value(name).type;
    if (t.dtype() != want.dtype)
      fail(ErrorCode::kInvalidArgument, "input '" + name + "' is " + dtype_name(t.dtype()) +
                                            " but the model expects " + dtype_name(want.dtype));
    if (!want.shape) continue;
    bool ok = want.shape->size() == t.dims().size();
    for (size_t i = 0; ok && i < t.dims().size(); ++i)
      ok = !(*want.shape)[i].known() || (*want.shape)[i].value == t.dims()[i];
    if (!ok)
      fail(ErrorCode::kInvalidArgument, "input '" + name + "' has shape " + dims_to_string(t.dims()) +
                                            " but the model expects " + shape_to_string(*want.shape));
  }
}

CpuExecutor::CpuExecutor(const Graph& graph) : graph_(graph), release_after_(graph.nodes.size()) {
  std::unordered_map<std::string, size_t> last_use;
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    for (const auto& in : graph.nodes[i].inputs)
      if (!in.empty()) last_use[in] = i;
  std::set<std::string> keep(graph.outputs.begin(), graph.outputs.end());
  for (const auto& [name, idx] : last_use)
    if (!keep.count(name) && !graph.is_constant(name)) release_after_[idx].push_back(name);
}

TensorMap CpuExecutor::run(const TensorMap& inputs, const NodeDone& on_node, const ValueDone& on_value) const {
  check_inputs(graph_, inputs);
  std::unordered_map<std::string, Tensor> live(inputs.begin(), inputs.end());
  auto lookup = [&](const std::string& name) -> const Tensor* {
    auto it = live.find(name);
    if (it != live.end()) return &it->second;
    const Value& v = graph_.value(name);
    if (v.constant) return &*v.constant;
    fail(ErrorCode::kInternal, "internal error: value '" + name + "' read before it was computed");
  };
  const OpRegistry& registry = OpRegistry::instance();
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const Node& node = graph_.nodes[i];
    const OpSchema* schema = registry.find(node.domain, node.op_type);
    KILN_ASSERT(schema);
    KernelContext ctx{{node}, {}};
    for (const auto& in : node.inputs) ctx.inputs.push_back(in.empty() ? nullptr : lookup(in));
    std::vector<Tensor> outs = schema->cpu(ctx);
    if (outs.size() < node.outputs.size())
      fail(ErrorCode::kInternal, "internal error: " + node.describe() + " produced too few outputs");
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o].empty()) continue;
      const ValueType& want = graph_.value(node.outputs[o]).type;
      if (want.dtype != DType::kUndefined && want.dtype != outs[o].dtype())
        fail(ErrorCode::kInternal, "internal error: " + node.describe() + " output " +
                                       std::to_string(o) + " is " + dtype_name(outs[o].dtype()) +
                                       ", inference said " + dtype_name(want.dtype));
      if (on_value) on_value(node.outputs[o], outs[o]);
      live[node.outputs[o]] = std::move(outs[o]);
    }
    for (const auto& dead : release_after_[i]) live.erase(dead);
    if (on_node) on_node(i + 1, graph_.nodes.size());
  }
  TensorMap result;
  for (const auto& name : graph_.outputs) result[name] = *lookup(name);
  return result;
}

}  // namespace kiln
