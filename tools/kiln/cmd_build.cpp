// kiln build MODEL.onnx -o ENGINE.kiln [--device cpu|cuda] [--shape NAME=DIMS ...] [--json]
// Imports the model with the given input shapes, runs the passes, and writes ONE
// self-contained engine file (runtime/engine/engine_file.h) atomically: on any error nothing
// appears at the output path.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "model_source.h"
#include "passes/pipeline.h"
#ifdef KILN_WITH_CUDA
#include "runtime/cuda/cuda_executor.h"
#endif

namespace kiln::cli {
namespace {
namespace fs = std::filesystem;

struct BuildOptions {
  std::string model;
  std::string output;
  std::string device = "cpu";
  std::vector<std::string> shapes;
  bool json = false;
};

int build(const BuildOptions& o) {
  EngineTarget target = local_target(o.device);
  if (is_engine_file(o.model))
    fail(ErrorCode::kInvalidArgument, o.model + " is already an engine file; kiln build takes an ONNX model");
  std::error_code ec;
  if (fs::is_directory(o.output, ec))
    fail(ErrorCode::kInvalidArgument, "-o " + o.output + " is a directory; give the engine file's path");
  if (fs::exists(o.output, ec) && fs::equivalent(o.output, o.model, ec))
    fail(ErrorCode::kInvalidArgument, "-o " + o.output + " would overwrite the model");
  ImportOptions import;
  import.input_shapes = parse_shapes(o.shapes);
  Graph g = import_onnx_file(o.model, import);
  PassReport passes = run_passes(g);
#ifdef KILN_WITH_CUDA
  if (target.device == "cuda") {  // refuse at build time what the CUDA executor would refuse
    std::vector<std::string> missing = ops_without_cuda_kernel(g);
    if (!missing.empty()) {
      std::string list;
      for (const auto& op : missing) list += (list.empty() ? "" : ", ") + op;
      fail(ErrorCode::kUnsupported, "no CUDA kernel for " + list + "; build with --device cpu");
    }
  }
#endif
  save_engine(o.output, g, target);

  nlohmann::json r = {{"model", o.model}, {"engine", o.output}, {"bytes", fs::file_size(o.output)},
                      {"device", target.device}, {"arch", target.arch},
                      {"format_version", kEngineFormatVersion},
                      {"nodes", {{"in_file", passes.nodes_before}, {"after_passes", passes.nodes_after}}},
                      {"inputs", nlohmann::json::array()}};
  for (const auto& name : g.inputs) r["inputs"].push_back({{"name", name}, {"shape", g.value(name).type.to_string()}});
  if (o.json) {
    std::cout << r.dump(2) << "\n";
    return 0;
  }
  std::printf("%s -> %s (%llu bytes): %s, %d nodes (%d in file)\n", o.model.c_str(), o.output.c_str(),
              (unsigned long long)r["bytes"].get<uint64_t>(), target.to_string().c_str(), passes.nodes_after,
              passes.nodes_before);
  for (const auto& in : r["inputs"])
    std::printf("  input %-32s %s\n", in["name"].get<std::string>().c_str(), in["shape"].get<std::string>().c_str());
  return 0;
}

}  // namespace

Action add_build_command(CLI::App& app) {
  auto o = std::make_shared<BuildOptions>();
  CLI::App* cmd = app.add_subcommand("build", "Optimize a model for a device and write an engine file");
  cmd->footer("Example:\n  kiln build model.onnx -o model.kiln --shape pixel_values=1x3x512x512\n"
              "  kiln run model.kiln --input pixel_values=random");
  cmd->add_option("model", o->model, "Model file (.onnx)")->required();
  cmd->add_option("--output,-o", o->output, "Engine file to write")->required();
  cmd->add_option("--device", o->device, "cpu (default) or cuda (records this GPU's architecture)");
  cmd->add_option("--shape", o->shapes, "NAME=1x3x512x512: dims for a symbolic input (repeatable)");
  cmd->add_flag("--json", o->json, "Print a JSON report");
  return with_plugins(cmd, [o] { return build(*o); });
}

}  // namespace kiln::cli
