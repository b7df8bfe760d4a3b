// One engine as the Python module holds it: the loaded or freshly built Engine (graph, target,
// build) and what runs it — the CPU reference (a graph specialized per input shape) or a CUDA
// execution context made on first use. Calls are serialized by a mutex, so Python threads may
// share an Engine (the GIL is released while it runs).
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/cpu_executor.h"
#include "runtime/engine/engine_file.h"
#ifdef KILN_WITH_CUDA
#include "runtime/cuda/caller_stream_run.h"
#include "runtime/cuda/cuda_executor.h"
#endif

namespace kiln::python {

struct BuildRequest {
  std::string onnx_path;
  std::string precision = "fp16";  // fp32, tf32 or fp16
  std::map<std::string, Dims> shapes;
  std::string device = "cuda";
};

class EngineHandle {
 public:
  // Imports, optimizes and converts the model as `kiln build` does; on cuda, times the kernel
  // candidates and prepares the plan for the static shapes (kept for the first run).
  static std::shared_ptr<EngineHandle> build(const BuildRequest& request);
  // Loads an engine file, refusing one built for another device or GPU than this process has.
  static std::shared_ptr<EngineHandle> load(const std::string& path);
  void save(const std::string& path) const;  // atomically, as kiln build writes it

  const Engine& engine() const { return engine_; }

  // Host tensors in and out: the CPU reference, or the CUDA engine with copies both ways.
  TensorMap run_host(const TensorMap& inputs);
#ifdef KILN_WITH_CUDA
  // The output dtypes and dims of a run with these input dims (CUDA engines).
  std::map<std::string, std::pair<DType, Dims>> output_types(const std::map<std::string, Dims>& input_dims);
  // Device memory in and out, ordered on the caller's stream (caller_stream_run.h).
  void run_device(const BorrowedTensorMap& inputs, const BorrowedTensorMap& outputs, CudaStream stream);
#endif

 private:
  explicit EngineHandle(Engine engine) : engine_(std::move(engine)) {}
  const Graph& cpu_graph(const std::map<std::string, Dims>& input_dims);
#ifdef KILN_WITH_CUDA
  CudaExecutor& cuda();  // made on first use
#endif

  Engine engine_;
  std::mutex mu_;
  std::map<std::string, Graph> cpu_graphs_;  // specialized for input dims, by their key
#ifdef KILN_WITH_CUDA
  std::unique_ptr<CudaExecutor> exec_;
  std::unique_ptr<CallerStreamRun> caller_;
#endif
};

}  // namespace kiln::python
