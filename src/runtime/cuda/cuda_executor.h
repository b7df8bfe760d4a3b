// An execution context of the CUDA backend: one stream, its handles and workspace (CudaSession),
// and per input shape a plan (cuda_plan.h) that owns the activation arena and the captured CUDA
// Graph. Contexts of one CudaModel share its weights; give each thread its own context.
//
// A plan's first run goes node by node with per-call allocations and records what each kernel
// did (which outputs it wrote, which it aliased, its scratch and workspace needs, its state);
// that record lays out one arena by liveness (arena_plan.h). Later runs write every tensor into
// the arena and, unless CUDA Graphs are off, replay the whole graph as one captured CUDA Graph.
// With KILN_CUDA_SYNC=1 in the environment every node is waited for (errors name the node) and
// CUDA Graphs are not used.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/cpu_executor.h"
#include "runtime/cuda/cuda_model.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln {

class CudaSession;
struct CudaPlan;
using DeviceTensorMap = std::map<std::string, DeviceTensor>;

struct CudaRunOptions {
  bool cuda_graph = true;  // capture and replay (--no-cuda-graph: node by node)
  bool tune = false;       // time kernel candidates on first use (the builder)
};

// Per-node GPU time of one run, node by node (CUDA Graphs off), for `kiln profile`.
struct NodeTiming {
  const Node* node;
  float ms;
  const char* library;  // CudaKernelContext::library, or nullptr
};

class CudaExecutor {
 public:
  explicit CudaExecutor(std::shared_ptr<CudaModel> model, CudaRunOptions options = {});
  // A model of its own, for a graph with static shapes (tests and one-off runs).
  explicit CudaExecutor(const Graph& graph);
  ~CudaExecutor();

  // Host inputs in, host outputs out (copies both ways); waits for the GPU.
  TensorMap run(const TensorMap& inputs);
  // Device inputs in; the outputs are views of this context's arena, valid until its next run.
  // Returns without waiting for the stream (unless the graph has runtime index checks).
  DeviceTensorMap run_device(const DeviceTensorMap& inputs);
  // Replays the captured CUDA Graph of the plan for these inputs on `stream` (a caller's): the
  // inputs are copied into their slots and the graph launched there, and `outputs` gets the
  // outputs' arena views. Returns false, doing nothing, when that plan is not planned and
  // captured yet, has runtime index checks, or runs node by node: then use run_device.
  bool replay_on(const DeviceTensorMap& inputs, CudaStream stream, DeviceTensorMap* outputs);
  // Runs once node by node with events between nodes (planning first if needed).
  std::vector<NodeTiming> profile(const DeviceTensorMap& inputs);
  // Host inputs in; runs the planned graph node by node (never a CUDA Graph) and hands every
  // node output, copied to the host as soon as its node is done (later nodes reuse its arena
  // slot), to on_value: kiln compare --per-layer. Returns the graph outputs.
  TensorMap run_keeping(const TensorMap& inputs, const CpuExecutor::ValueDone& on_value);

  // Prepares the plan for these input dims (specializing the graph, first run on zeros) so that
  // later runs replay at once. Returns the plan's arena size in bytes.
  size_t prepare(const std::map<std::string, Dims>& input_dims);

  // The arena slots that the prepared plan for these dims reads its inputs from: fill them and
  // pass them to run_device, and no input copy happens (benchmarks, zero-copy callers).
  DeviceTensorMap input_slots(const std::map<std::string, Dims>& input_dims);

  CudaSession& session() { return *session_; }
  CudaModel& model() { return *model_; }
  // The plan's graph for these input dims (specialized, static shapes).
  const Graph& plan_graph(const std::map<std::string, Dims>& input_dims);
  // Activation arena bytes (inputs, outputs, intermediates, scratch) of the plan for these dims,
  // and the workspace the session holds for cuBLASLt/cuDNN.
  size_t arena_bytes(const std::map<std::string, Dims>& input_dims);
  size_t workspace_bytes() const;
  CudaRunOptions& options() { return options_; }

 private:
  CudaPlan& plan_for(const std::map<std::string, Dims>& input_dims);
  void plan_first_run(CudaPlan& p, const DeviceTensorMap& inputs, DeviceTensorMap* outputs);
  // capture_only: make the CUDA Graph (when on) without running it (prepare).
  void run_planned(CudaPlan& p, const DeviceTensorMap& inputs, std::vector<NodeTiming>* timing,
                   bool capture_only = false);
  void run_nodes(CudaPlan& p, std::vector<NodeTiming>* timing, void* events,
                 const CpuExecutor::ValueDone* on_value = nullptr);
  void check_deferred(CudaPlan& p);

  std::shared_ptr<CudaModel> model_;
  CudaRunOptions options_;
  std::unique_ptr<CudaSession> session_;
  std::map<std::string, std::unique_ptr<CudaPlan>> plans_;  // by input dims
  bool sync_each_node_ = false;
};

}  // namespace kiln
