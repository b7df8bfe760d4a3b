// What the execution contexts of one engine share, read-only once built: the optimized graph
// (static, or symbolic within shape profiles), its build (precision, profiles, tuning cache)
// and the device copies of its weights, uploaded once on first use.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "runtime/cuda/device_tensor.h"
#include "runtime/engine/engine_file.h"

namespace kiln {

class CudaModel {
 public:
  // Checks that every node has a CUDA kernel (kUnsupported naming every missing op).
  CudaModel(Graph graph, EngineBuild build = {});
  ~CudaModel();
  CudaModel(const CudaModel&) = delete;
  CudaModel& operator=(const CudaModel&) = delete;

  const Graph& graph() const { return graph_; }
  const EngineBuild& build() const { return build_; }
  TuningCache& tuning() { return build_.tuning; }
  bool tf32() const { return build_.precision == "tf32"; }

  // The device copy of the model graph's constant `name` (uploaded once, shared), or an
  // undefined tensor when `host` is not that constant's data (a constant made when the graph
  // was specialized for a shape: the caller uploads it itself).
  DeviceTensor weight(const std::string& name, const Tensor& host);
  size_t weight_bytes() const;

 private:
  Graph graph_;
  EngineBuild build_;
  CudaStream upload_stream_ = nullptr;
  mutable std::mutex mu_;
  std::unordered_map<std::string, DeviceTensor> weights_;
};

// The ops of graph that have no CUDA kernel, sorted, each once.
std::vector<std::string> ops_without_cuda_kernel(const Graph& graph);
// kUnsupported naming every op of graph without a CUDA kernel ("no CUDA kernel for X, Y; run
// with --device cpu"); never a fallback.
void require_cuda_kernels(const Graph& graph);

}  // namespace kiln
