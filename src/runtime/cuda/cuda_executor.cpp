#include "runtime/cuda/cuda_executor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>
#include <unordered_map>

#include "ops/registry.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln {
namespace {

void require_static_shape(const Graph& g, const std::string& name) {
  const ValueType& t = g.value(name).type;
  if (!t.shape || !shape_known(*t.shape))
    fail(ErrorCode::kUnsupported, "value '" + name + "' has shape " + t.to_string() +
                                      ": the CUDA backend needs static shapes (give --shape for "
                                      "symbolic inputs)");
}

}  // namespace

std::vector<std::string> ops_without_cuda_kernel(const Graph& graph) {
  std::set<std::string> missing;
  const OpRegistry& registry = OpRegistry::instance();
  for (const Node& node : graph.nodes) {
    const OpSchema* schema = registry.find(node.domain, node.op_type);
    if (!schema || !schema->cuda) missing.insert(node.op_type);
  }
  return {missing.begin(), missing.end()};
}

CudaExecutor::CudaExecutor(const Graph& graph) : graph_(graph), release_after_(graph.nodes.size()) {
  std::vector<std::string> missing = ops_without_cuda_kernel(graph);
  if (!missing.empty()) {
    std::string list;
    for (const auto& op : missing) list += (list.empty() ? "" : ", ") + op;
    fail(ErrorCode::kUnsupported, "no CUDA kernel for " + list + "; run with --device cpu");
  }
  for (const auto& name : graph.inputs) require_static_shape(graph, name);
  for (const Node& node : graph.nodes)
    for (const auto& out : node.outputs)
      if (!out.empty()) require_static_shape(graph, out);

  std::unordered_map<std::string, size_t> last_use;
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    for (const auto& in : graph.nodes[i].inputs)
      if (!in.empty()) last_use[in] = i;
  std::set<std::string> keep(graph.outputs.begin(), graph.outputs.end());
  for (const auto& [name, idx] : last_use)
    if (!keep.count(name) && !graph.is_constant(name)) release_after_[idx].push_back(name);

  const char* sync = std::getenv("KILN_CUDA_SYNC");
  sync_each_node_ = sync && std::strcmp(sync, "0") != 0;
  session_ = std::make_unique<CudaSession>();
  std::set<std::string> used(graph.outputs.begin(), graph.outputs.end());
  for (const Node& node : graph.nodes) used.insert(node.inputs.begin(), node.inputs.end());
  for (const auto& name : used)
    if (!name.empty() && graph.is_constant(name))
      constants_[name] = to_device(*graph.value(name).constant, session_->stream());
}

CudaExecutor::~CudaExecutor() = default;

DeviceTensorMap CudaExecutor::run_device(const DeviceTensorMap& inputs) {
  std::unordered_map<std::string, DeviceTensor> live(inputs.begin(), inputs.end());
  auto lookup = [&](const std::string& name) -> const DeviceTensor* {
    auto it = live.find(name);
    if (it != live.end()) return &it->second;
    auto c = constants_.find(name);
    if (c != constants_.end()) return &c->second;
    fail(ErrorCode::kInternal, "internal error: value '" + name + "' read before it was computed");
  };
  const OpRegistry& registry = OpRegistry::instance();
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const Node& node = graph_.nodes[i];
    const OpSchema* schema = registry.find(node.domain, node.op_type);
    KILN_ASSERT(schema && schema->cuda);
    CudaKernelContext ctx{{node}, *session_, {}, {}, {}, {}};
    for (const auto& in : node.inputs) {
      ctx.inputs.push_back(in.empty() ? nullptr : lookup(in));
      ctx.input_values.push_back(in.empty() ? nullptr : &graph_.value(in));
    }
    for (const auto& out : node.outputs)
      ctx.output_types.push_back(out.empty() ? nullptr : &graph_.value(out).type);
    ctx.outputs.resize(node.outputs.size());
    try {
      schema->cuda(ctx);
      if (sync_each_node_) CUDA_CHECK(cudaStreamSynchronize(session_->stream()));
    } catch (const Error& e) {
      // Internal errors (CUDA_CHECK) get the node's name; user errors already carry it.
      if (e.code() != ErrorCode::kInternal) throw;
      fail(ErrorCode::kInternal, node.describe() + ": " + e.what());
    }
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o].empty()) continue;
      const DeviceTensor& t = ctx.outputs[o];
      if (!t.defined() || t.dtype != ctx.output_dtype(o) || t.dims != ctx.output_dims(o))
        fail(ErrorCode::kInternal, "internal error: " + node.describe() + " CUDA output " +
                                       std::to_string(o) + " disagrees with inference");
      live[node.outputs[o]] = std::move(ctx.outputs[o]);
    }
    for (const auto& dead : release_after_[i]) live.erase(dead);
  }
  DeviceTensorMap result;
  for (const auto& name : graph_.outputs) result[name] = *lookup(name);
  return result;
}

TensorMap CudaExecutor::run(const TensorMap& inputs) {
  check_inputs(graph_, inputs);
  DeviceTensorMap feeds;
  for (const auto& [name, t] : inputs) feeds[name] = to_device(t, session_->stream());
  DeviceTensorMap outs = run_device(feeds);
  TensorMap result;
  for (const auto& [name, t] : outs) result[name] = to_host(t, session_->stream());
  CUDA_CHECK(cudaStreamSynchronize(session_->stream()));
  return result;
}

}  // namespace kiln
