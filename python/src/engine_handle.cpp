#include "engine_handle.h"

#include <filesystem>

#include "onnx/importer.h"
#include "runtime/local_target.h"
#include "runtime/specialize.h"

namespace kiln::python {
namespace {

// The precision as kiln build's flags allow it: fp32 anywhere, tf32 and fp16 only on cuda.
void check_precision(const BuildRequest& r) {
  if (r.precision != "fp32" && r.precision != "tf32" && r.precision != "fp16")
    fail(ErrorCode::kInvalidArgument, "precision '" + r.precision + "': expected fp32, tf32 or fp16");
  if (r.precision != "fp32" && r.device != "cuda")
    fail(ErrorCode::kInvalidArgument, "precision='" + r.precision +
                                          "' needs device='cuda' (the CPU reference computes in fp32)");
}

}  // namespace

std::shared_ptr<EngineHandle> EngineHandle::build(const BuildRequest& r) {
  Engine e;
  e.target = local_target(r.device, /*python_spelling=*/true);
  check_precision(r);
  e.kiln_version = KILN_VERSION;
  e.build.precision = r.precision;
  if (is_engine_file(r.onnx_path))
    fail(ErrorCode::kInvalidArgument, r.onnx_path + " is already an engine file; kiln.build takes an ONNX model (kiln.load reads engines)");
  ImportOptions import;
  import.input_shapes = r.shapes;
  e.graph = import_onnx_file(r.onnx_path, import);
  disable_passes_for_target(e.build, e.target);
  optimize_for_engine(e.graph, e.build);
  auto handle = std::shared_ptr<EngineHandle>(new EngineHandle(std::move(e)));
#ifdef KILN_WITH_CUDA
  if (r.device == "cuda") {
    // Time every kernel choice on this GPU for the static shapes, as kiln build does; the
    // context stays, its plan ready for the first run.
    const Graph& g = handle->engine_.graph;
    std::map<std::string, Dims> dims;
    for (const auto& name : g.inputs) {
      const ValueType& t = g.value(name).type;
      if (!t.shape || !shape_known(*t.shape))
        fail(ErrorCode::kInvalidArgument, "input '" + name + "' has shape " + t.to_string() +
                                              "; give it with shapes={'" + name + "': (...)}");
      dims[name] = shape_dims(*t.shape);
    }
    auto model = std::make_shared<CudaModel>(g, handle->engine_.build);
    handle->exec_ = std::make_unique<CudaExecutor>(model, CudaRunOptions{true, true});
    handle->exec_->prepare(dims);
    handle->exec_->options().tune = false;
    handle->engine_.build.tuning = model->tuning();
  }
#endif
  return handle;
}

std::shared_ptr<EngineHandle> EngineHandle::load(const std::string& path) {
  std::error_code ec;  // a missing file: load_engine says so, as `kiln run` does
  if (std::filesystem::is_regular_file(path, ec) && !is_engine_file(path))
    fail(ErrorCode::kInvalidArgument, path + " is not an engine file; build one with kiln.build (or `kiln build`)");
  Engine e = load_engine(path);
  if (e.target.device != "cpu" && e.target.device != "cuda")
    fail(ErrorCode::kInvalidArgument, "engine file " + path + " was built for " + e.target.to_string() +
                                          ", which this kiln cannot run; rebuild it with `kiln build`");
  check_engine_target(e, local_target(e.target.device, /*python_spelling=*/true), path);
  return std::shared_ptr<EngineHandle>(new EngineHandle(std::move(e)));
}

void EngineHandle::save(const std::string& path) const {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    fail(ErrorCode::kInvalidArgument, path + " is a directory; give the engine file's path");
  save_engine(path, engine_.graph, engine_.target, engine_.build);
}

const Graph& EngineHandle::cpu_graph(const std::map<std::string, Dims>& input_dims) {
  if (matches_static_inputs(engine_.graph, input_dims)) return engine_.graph;
  const std::string key = dims_key(input_dims);
  auto it = cpu_graphs_.find(key);
  if (it == cpu_graphs_.end())
    it = cpu_graphs_.emplace(key, specialize(engine_.graph, input_dims, engine_.build, "the model")).first;
  return it->second;
}

TensorMap EngineHandle::run_host(const TensorMap& inputs) {
  std::lock_guard lock(mu_);
#ifdef KILN_WITH_CUDA
  if (engine_.target.device == "cuda") return cuda().run(inputs);
#endif
  const Graph& g = cpu_graph(dims_of(inputs));
  check_inputs(g, inputs);
  return CpuExecutor(g).run(inputs);
}

#ifdef KILN_WITH_CUDA
CudaExecutor& EngineHandle::cuda() {
  if (!exec_) exec_ = std::make_unique<CudaExecutor>(std::make_shared<CudaModel>(engine_.graph, engine_.build));
  return *exec_;
}

std::map<std::string, std::pair<DType, Dims>> EngineHandle::output_types(const std::map<std::string, Dims>& input_dims) {
  std::lock_guard lock(mu_);
  if (!caller_) caller_ = std::make_unique<CallerStreamRun>(cuda());
  return caller_->output_types(input_dims);
}

void EngineHandle::run_device(const BorrowedTensorMap& inputs, const BorrowedTensorMap& outputs, CudaStream stream) {
  std::lock_guard lock(mu_);
  if (!caller_) caller_ = std::make_unique<CallerStreamRun>(cuda());
  caller_->run(inputs, outputs, stream);
}
#endif

}  // namespace kiln::python
