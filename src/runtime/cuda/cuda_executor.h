// The CUDA backend, phase 1: runs the folded graph node by node on one stream with each op's
// CUDA kernel and device tensors, freeing every intermediate after its last use (stream-ordered
// allocations). Constants are uploaded once, when the executor is built. An op without a CUDA
// kernel is an error naming it; there is no fallback to the CPU. With KILN_CUDA_SYNC=1 in the
// environment every node is waited for, so an asynchronous CUDA error names its node.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/cpu_executor.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln {

class CudaSession;
using DeviceTensorMap = std::map<std::string, DeviceTensor>;

class CudaExecutor {
 public:
  // Checks that every node has a CUDA kernel and every value a known shape (kUnsupported
  // otherwise), then uploads the constants.
  explicit CudaExecutor(const Graph& graph);
  ~CudaExecutor();

  // Host inputs in, host outputs out (copies both ways); waits for the GPU.
  TensorMap run(const TensorMap& inputs);
  // Device inputs in, device outputs out; returns without waiting for the stream.
  DeviceTensorMap run_device(const DeviceTensorMap& inputs);

  CudaSession& session() { return *session_; }

 private:
  const Graph& graph_;
  std::unique_ptr<CudaSession> session_;
  std::map<std::string, DeviceTensor> constants_;
  std::vector<std::vector<std::string>> release_after_;  // per node: values dead after it
  bool sync_each_node_ = false;  // KILN_CUDA_SYNC=1: wait after every node (errors name it)
};

// The ops of graph that have no CUDA kernel, sorted, each once.
std::vector<std::string> ops_without_cuda_kernel(const Graph& graph);

}  // namespace kiln
