#include "model_source.h"

#include <algorithm>

#include "runtime/specialize.h"

namespace kiln::cli {
namespace {

// An engine's inputs may keep symbolic dims (built without --shape); the run's shapes fill
// them in, and run_passes then re-infers and folds for them.
void shape_inputs(Graph& g, const std::map<std::string, Dims>& shapes, const std::string& path) {
  for (const auto& [name, given] : shapes) {
    if (std::find(g.inputs.begin(), g.inputs.end(), name) == g.inputs.end())
      fail(ErrorCode::kInvalidArgument, "the model has no input named '" + name + "'");
    ValueType& t = g.value(name).type;
    bool fits = !t.shape || t.shape->size() == given.size();
    for (size_t i = 0; fits && t.shape && i < given.size(); ++i)
      fits = !(*t.shape)[i].known() || (*t.shape)[i].value == given[i];
    if (!fits)
      fail(ErrorCode::kInvalidArgument, "input '" + name + "' has shape " + t.to_string() + " in engine " +
                                            path + ", got " + dims_to_string(given) +
                                            "; rebuild it with `kiln build --shape " + name + "=...`");
    t.shape = shape_of(given);
    check_shape_flag_size(name, given, t.dtype);
  }
}

}  // namespace

std::string resolve_device(const std::string& model, const std::string& device_flag) {
  std::string device = device_flag;
  if (device.empty() && is_engine_file(model)) {
    device = peek_engine_target(model).device;
    if (device != "cpu" && device != "cuda") {  // damaged (the full load says so) or from a newer kiln
      Engine e = load_engine(model);
      fail(ErrorCode::kInvalidArgument, "engine file " + model + " was built for " + e.target.to_string() +
                                            ", which this kiln cannot run; rebuild it with `kiln build`");
    }
  }
  if (device.empty()) device = "cpu";
  check_device_name(device);
  return device;
}

Graph open_model(const std::string& path, const ImportOptions& import, const EngineTarget* run_on,
                 ModelSource* source) {
  if (!is_engine_file(path)) {
    if (source) *source = ModelSource{};
    return import_onnx_file(path, import);
  }
  Engine e = load_engine(path);
  if (run_on) check_engine_target(e, *run_on, path);
  for (const auto& [name, dims] : import.input_shapes) check_profile(e.build, name, dims, "engine " + path);
  const bool per_shape = converts_per_shape(e.graph, e.build);
  shape_inputs(e.graph, import.input_shapes, path);
  // Stored as imported (specialize.h): once every input has dims, optimize and convert that shape.
  if (per_shape && !converts_per_shape(e.graph, e.build)) optimize_specialized(e.graph, e.build);
  if (source) *source = ModelSource{true, e.target, e.kiln_version, std::move(e.build)};
  return std::move(e.graph);
}

Engine load_cuda_engine(const std::string& path, const std::string& command) {
  if (!is_engine_file(path))
    fail(ErrorCode::kInvalidArgument, path + " is not an engine file; build one with `kiln build MODEL.onnx -o " +
                                          "ENGINE.kiln --device cuda`");
  Engine e = load_engine(path);
  if (e.target.device != "cuda")
    fail(ErrorCode::kInvalidArgument, "engine file " + path + " was built for " + e.target.to_string() + "; kiln " +
                                          command + " times CUDA engines: rebuild it with --device cuda");
  check_engine_target(e, local_target("cuda"), path);
  return e;
}

Dims default_input_dims(const Engine& e, const std::string& name, const std::string& flag) {
  if (const InputProfile* p = find_profile(e.build, name)) return p->opt;
  const ValueType& t = e.graph.value(name).type;
  if (t.shape && shape_known(*t.shape)) return shape_dims(*t.shape);
  fail(ErrorCode::kInvalidArgument, "input '" + name + "' has shape " + t.to_string() + " in the engine; give it with " + flag);
}

}  // namespace kiln::cli
