#include "runtime/cuda/cuda_model.h"

#include <set>

#include "ops/registry.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_session.h"

namespace kiln {

std::vector<std::string> ops_without_cuda_kernel(const Graph& graph) {
  std::set<std::string> missing;
  const OpRegistry& registry = OpRegistry::instance();
  for (const Node& node : graph.nodes) {
    const OpSchema* schema = registry.find(node.domain, node.op_type);
    if (!schema || !schema->cuda) missing.insert(node.op_type);
  }
  return {missing.begin(), missing.end()};
}

void require_cuda_kernels(const Graph& graph) {
  std::vector<std::string> missing = ops_without_cuda_kernel(graph);
  if (missing.empty()) return;
  std::string list;
  for (const auto& op : missing) list += (list.empty() ? "" : ", ") + op;
  fail(ErrorCode::kUnsupported, "no CUDA kernel for " + list + "; run with --device cpu");
}

CudaModel::CudaModel(Graph graph, EngineBuild build) : graph_(std::move(graph)), build_(std::move(build)) {
  // A symbolic graph may hold shape arithmetic that only folds away once specialized: its plans
  // are checked instead (cuda_executor.cpp).
  bool is_static = true;
  for (const auto& [name, v] : graph_.values) is_static = is_static && v.type.shape && shape_known(*v.type.shape);
  if (is_static) require_cuda_kernels(graph_);
  if (cuda_device_count() == 0)
    fail(ErrorCode::kUnsupported, "no CUDA GPU is visible to this process (run with --device cpu)");
  CUDA_CHECK(cudaStreamCreateWithFlags(&upload_stream_, cudaStreamNonBlocking));
}

CudaModel::~CudaModel() {
  weights_.clear();  // frees in the upload stream's order, before the stream goes
  if (upload_stream_) {
    cudaStreamSynchronize(upload_stream_);
    cudaStreamDestroy(upload_stream_);
  }
}

DeviceTensor CudaModel::weight(const std::string& name, const Tensor& host) {
  if (!graph_.has_value(name)) return {};
  const Value& v = graph_.value(name);
  if (!v.constant || v.constant->raw() != host.raw() || v.constant->nbytes() != host.nbytes()) return {};
  std::lock_guard lock(mu_);
  auto it = weights_.find(name);
  if (it == weights_.end()) it = weights_.emplace(name, to_device(host, upload_stream_)).first;
  return it->second;
}

size_t CudaModel::weight_bytes() const {
  std::lock_guard lock(mu_);
  size_t total = 0;
  for (const auto& [name, t] : weights_) total += t.nbytes();
  return total;
}

}  // namespace kiln
