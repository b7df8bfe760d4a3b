// One input shape's execution plan inside a CUDA execution context (cuda_executor.h): the
// specialized graph, each node's kernel state, the device constants its nodes read, and — once
// the first run has recorded what every kernel does — the activation arena laid out by liveness
// and the captured CUDA Graph.
#pragma once
#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "runtime/cuda/cuda_session.h"
#include "runtime/cuda/device_tensor.h"
#include "runtime/cuda/kernel_state.h"

namespace kiln {

// What a node's output turned out to be in the plan's first run.
enum class OutputKind : uint8_t {
  kArena,   // written by the kernel into memory it asked for (alloc_output): an arena slot
  kAlias,   // a view of one of the node's inputs (Reshape and friends): no memory of its own
  kKernel,  // memory the kernel allocated by itself: a kernel bug (outputs come from alloc_output)
};

// The first run's record of one node.
struct NodeTrace {
  std::vector<OutputKind> kinds;   // per output
  std::vector<int> alias_of;       // per output: the input index it views (kAlias), else -1
  size_t scratch_bytes = 0;
};

struct CudaPlan {
  std::shared_ptr<const Graph> graph;                 // static shapes
  std::vector<std::unique_ptr<KernelState>> states;   // per node
  std::unordered_map<std::string, DeviceTensor> constants;
  std::vector<std::vector<std::string>> release_after;  // first run: values dead after node i

  bool planned = false;  // the first run is over and the arena laid out
  std::shared_ptr<DeviceBuffer> arena;
  size_t arena_bytes = 0;
  std::vector<std::vector<DeviceTensor>> outputs;  // per node, per output: its arena view or undefined
  std::vector<DeviceTensor> scratch;               // per node: its scratch region or undefined
  std::unordered_map<std::string, DeviceTensor> input_slots;
  std::vector<CudaSession::DeferredCheck> checks;
  std::unordered_map<std::string, DeviceTensor> output_views;  // the graph outputs, in the arena
  cudaGraphExec_t exec = nullptr;  // the captured graph, once made

  CudaPlan() = default;
  CudaPlan(const CudaPlan&) = delete;
  CudaPlan& operator=(const CudaPlan&) = delete;
  ~CudaPlan();

  // Lays out the arena from the first run's record and allocates it on stream.
  void lay_out(const std::vector<NodeTrace>& trace, CudaStream stream);
};

}  // namespace kiln
