// kiln build MODEL.onnx -o ENGINE.kiln [--device cpu|cuda] [--fp32|--tf32|--fp16]
//     [--shape NAME=DIMS ...] [--min/--opt/--max NAME=DIMS ...] [--timing-cache FILE]
//     [--disable-pass NAME ...] [--json]
//     [--int8 [--fp16]|--fp8 --calib DIR [--calibrator entropy|percentile|minmax] [--percentile P] [--calib-cache FILE]
//      [--accuracy-budget labels:P|l2:X --ref-data DIR]]
// Imports the model, runs the passes (for the given shapes, or symbolically within the shape
// profiles), converts it to the asked precision (--int8: calibrated Q/DQ and int8 kernels, quantize_build.h; with
// --fp16 the float parts are then stored in fp16; --accuracy-budget keeps the layers it must in float,
// quant/accuracy_guard.h), and on a GPU times the kernel candidates of
// every plan (at the profile's opt, min and max) and lays out their activation arenas; writes
// ONE self-contained engine file atomically: on any error nothing appears at the output path.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "accuracy_guard_report.h"
#include "build_profiles.h"
#include "cli.h"
#include "io/progress.h"
#include "model_source.h"
#include "ops/elementwise/pointwise_codegen.h"
#include "quantize_build.h"
#include "runtime/specialize.h"
#ifdef KILN_WITH_CUDA
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/cuda_session.h"
#endif

namespace kiln::cli {
namespace {
namespace fs = std::filesystem;

// Cubins of generated elementwise kernels among the tuning cache's entries.
size_t generated_kernels(const TuningCache& tuning) {
  size_t n = 0;
  for (const auto& [key, value] : tuning.entries()) n += key.find(ew::kPointwiseTuningTag) != std::string::npos;
  return n;
}

struct BuildOptions {
  std::string model;
  std::string output;
  std::string device = "cpu";
  std::vector<std::string> shapes, min, opt, max;
  bool fp32 = false, tf32 = false, fp16 = false;
  std::string timing_cache;
  std::vector<std::string> disabled_passes;
  bool json = false;
  QuantFlags quant;
};

std::string precision_of(const BuildOptions& o) {
  const bool quantized = o.quant.int8 || o.quant.fp8;
  // --int8 --fp16: the int8 engine's float parts in fp16 storage (the only pairing).
  const bool int8_fp16 = o.quant.int8 && !o.quant.fp8 && o.fp16 && !o.fp32 && !o.tf32;
  if (int(o.fp32) + int(o.tf32) + int(o.fp16) + int(quantized) > 1 && !int8_fp16)
    fail(ErrorCode::kInvalidArgument, "give one of --fp32, --tf32, --fp16, --int8 (with or without --fp16) and --fp8");
  if (int8_fp16 && o.device != "cuda")
    fail(ErrorCode::kInvalidArgument, "--int8 --fp16 needs --device cuda (the CPU reference computes in fp32)");
  if (std::string q = quant_precision(o.quant, o.device); !q.empty()) return q;
  std::string p = o.fp16 ? "fp16" : o.tf32 ? "tf32" : "fp32";
  if (p != "fp32" && o.device != "cuda")
    fail(ErrorCode::kInvalidArgument, "--" + p + " needs --device cuda (the CPU reference computes in fp32)");
  return p;
}

// The input dims each plan is made for: the static shapes, or each profile's opt, min and max.
[[maybe_unused]] std::vector<std::map<std::string, Dims>> plan_shapes(const Graph& g, const EngineBuild& eb) {
  std::vector<std::map<std::string, Dims>> out(eb.profiles.empty() ? 1 : 3);
  for (const auto& name : g.inputs) {
    const InputProfile* p = find_profile(eb, name);
    const ValueType& t = g.value(name).type;
    if (!p && (!t.shape || !shape_known(*t.shape)))
      fail(ErrorCode::kInvalidArgument, "input '" + name + "' has shape " + t.to_string() +
                                            "; give it with --shape " + name + "=... or a --min/--opt/--max profile");
    for (size_t i = 0; i < out.size(); ++i) out[i][name] = p ? (i == 0 ? p->opt : i == 1 ? p->min : p->max) : shape_dims(*t.shape);
  }
  return out;
}

int build(const BuildOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  EngineBuild eb;
  eb.precision = precision_of(o);  // first: its flag errors need no GPU
  EngineTarget target = local_target(o.device);
  if (is_engine_file(o.model))
    fail(ErrorCode::kInvalidArgument, o.model + " is already an engine file; kiln build takes an ONNX model");
  std::error_code ec;
  if (fs::is_directory(o.output, ec))
    fail(ErrorCode::kInvalidArgument, "-o " + o.output + " is a directory; give the engine file's path");
  if (fs::exists(o.output, ec) && fs::equivalent(o.output, o.model, ec))
    fail(ErrorCode::kInvalidArgument, "-o " + o.output + " would overwrite the model");
  eb.profiles = parse_profiles(o.min, o.opt, o.max);
  ImportOptions import;
  import.input_shapes = parse_shapes(o.shapes);
  for (const auto& p : eb.profiles)
    if (import.input_shapes.count(p.name))
      fail(ErrorCode::kInvalidArgument, "input '" + p.name + "' has both --shape and a --min/--opt/--max profile");
  if (!o.timing_cache.empty() && o.device != "cuda")
    fail(ErrorCode::kInvalidArgument, "--timing-cache needs --device cuda (it holds GPU kernel timings)");
  if (!o.timing_cache.empty()) eb.tuning = TuningCache::load_file(o.timing_cache);

  const bool quantized = eb.precision == "int8" || eb.precision == "fp8";
  Progress bar("build", 4, std::chrono::milliseconds(500));
  Graph g = import_onnx_file(o.model, import);
  check_profiles_against(eb.profiles, g);
  bar.set(1);
  eb.disabled_passes = std::set<std::string>(o.disabled_passes.begin(), o.disabled_passes.end());
  const std::vector<std::string> target_off = disable_passes_for_target(eb, target);
  PrecisionReport precision;
  const bool int8_fp16 = eb.precision == "int8" && o.fp16;
  // Its fp16 conversion runs once, after quantizing; per-shape conversion (specialize.h) is the
  // fp16 engines' alone.
  for (const auto& name : g.inputs)
    if (int8_fp16 && !(g.value(name).type.shape && shape_known(*g.value(name).type.shape)))
      fail(ErrorCode::kInvalidArgument, "--int8 --fp16 needs static input shapes; input '" + name + "' is " +
                                            g.value(name).type.to_string() + ": give it with --shape " + name + "=...");
  PassReport passes = optimize_for_engine(g, eb, &precision, int8_fp16);
  bar.set(2);
  nlohmann::json calibration, guard;
  if (quantized) {
    bar.clear();  // calibration draws its own bar
    QuantBuildReport q = quantize_for_build(g, eb, o.quant, o.model, target.device);
    calibration = std::move(q.calibration);
    guard = std::move(q.accuracy_guard);
    if (int8_fp16) precision = to_fp16_storage(g, eb, passes);  // calibrated and quantized in fp32
  }
  nlohmann::json plans = nlohmann::json::array();
  size_t tuned_before = eb.tuning.size();
  if (target.device == "cuda") {
#ifdef KILN_WITH_CUDA
    // Time every kernel choice on this GPU, once per planned shape.
    auto model = std::make_shared<CudaModel>(g, eb);
    CudaExecutor exec(model, CudaRunOptions{true, true});
    for (const auto& dims : plan_shapes(g, eb)) {
      size_t arena = exec.prepare(dims);
      nlohmann::json shapes;
      for (const auto& [name, d] : dims) shapes[name] = dims_to_string(d);
      plans.push_back({{"inputs", shapes}, {"arena_bytes", arena}});
    }
    plans.back()["workspace_bytes"] = exec.workspace_bytes();
    eb.tuning = model->tuning();
#endif
  }  // a cpu engine may keep symbolic dims: its runs specialize it for their shapes
  bar.set(3);
  save_engine(o.output, g, target, eb);
  if (!o.timing_cache.empty()) eb.tuning.save_file(o.timing_cache);
  bar.set(4);
  bar.clear();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  nlohmann::json r = {{"model", o.model}, {"engine", o.output}, {"bytes", fs::file_size(o.output)},
                      {"device", target.device}, {"arch", target.arch}, {"precision", eb.precision},
                      {"format_version", kEngineFormatVersion}, {"build_seconds", seconds},
                      {"nodes", {{"in_file", passes.nodes_before}, {"after_passes", int(g.nodes.size())}}},
                      {"tuning", {{"entries", eb.tuning.size()}, {"new", eb.tuning.size() - tuned_before},
                                  {"generated_kernels", generated_kernels(eb.tuning)}}},
                      {"plans", plans}, {"inputs", nlohmann::json::array()},
                      {"rewrites", passes.rewrites.size()}, {"disabled_passes", eb.disabled_passes},
                      {"passes_off_for_target", target_off}};
  if (eb.precision == "fp16" || int8_fp16)  // of the opt shape where each shape is converted on its own
    r["fp16"] = {{"values_converted", precision.values_converted}, {"constants_converted", precision.constants_converted},
                 {"casts_inserted", precision.casts_inserted}, {"values_kept_fp32", precision.values_kept_fp32},
                 {"converted_per_shape", converts_per_shape(g, eb)}};
  if (quantized) r["calibration"] = calibration;
  if (!guard.is_null()) r["accuracy_guard"] = guard;
  for (const auto& name : g.inputs) r["inputs"].push_back({{"name", name}, {"shape", g.value(name).type.to_string()}});
  for (const auto& p : eb.profiles)
    r["profiles"].push_back({{"name", p.name}, {"min", dims_to_string(p.min)}, {"opt", dims_to_string(p.opt)},
                             {"max", dims_to_string(p.max)}});
  if (o.json) {
    std::cout << r.dump(2) << "\n";
    return 0;
  }
  std::printf("%s -> %s (%llu bytes): %s %s, %d nodes (%d in file), built in %.1f s\n", o.model.c_str(),
              o.output.c_str(), (unsigned long long)r["bytes"].get<uint64_t>(), target.to_string().c_str(),
              eb.precision.c_str(), int(g.nodes.size()), passes.nodes_before, seconds);
  for (const auto& in : r["inputs"])
    std::printf("  input %-32s %s\n", in["name"].get<std::string>().c_str(), in["shape"].get<std::string>().c_str());
  for (const auto& p : eb.profiles)
    std::printf("  profile %-30s min %s  opt %s  max %s\n", p.name.c_str(), dims_to_string(p.min).c_str(),
                dims_to_string(p.opt).c_str(), dims_to_string(p.max).c_str());
  for (const auto& p : plans)
    std::printf("  plan %s: activation arena %.1f MiB\n", p["inputs"].dump().c_str(),
                double(p["arena_bytes"].get<size_t>()) / (1 << 20));
  if (quantized)
    std::printf("  %s: %s ranges of %lld inputs (cache %s), %d activations and %d weights quantized, %d int8 GEMMs, %d int8 convs\n",
                eb.precision.c_str(), calibration["calibrator"].get<std::string>().c_str(),
                (long long)calibration["inputs"].get<int>(), calibration["cache"].get<std::string>().c_str(),
                calibration["quantized_activations"].get<int>(), calibration["quantized_weights"].get<int>(),
                calibration["int8_gemms"].get<int>(), calibration["int8_convs"].get<int>());
  if (!guard.is_null()) print_accuracy_guard(guard);
  for (const auto& name : target_off)
    std::printf("  %s off: its kernel needs a Hopper GPU (sm_90), this one is %s\n", name.c_str(), target.arch.c_str());
  if (target.device == "cuda")
    std::printf("  %zu kernel choices timed (%zu new), %zu of them generated kernels (NVRTC cubins)\n",
                eb.tuning.size(), eb.tuning.size() - tuned_before, generated_kernels(eb.tuning));
  return 0;
}

}  // namespace

Action add_build_command(CLI::App& app) {
  auto o = std::make_shared<BuildOptions>();
  CLI::App* cmd = app.add_subcommand("build", "Optimize a model for a device and write an engine file");
  cmd->footer("Examples:\n  kiln build model.onnx -o model.kiln --shape pixel_values=1x3x512x512\n"
              "  kiln build model.onnx -o model.kiln --device cuda --fp16 --shape pixel_values=1x3x1024x1024\n"
              "  kiln build model.onnx -o model.kiln --device cuda --min pixel_values=1x3x512x512 \\\n"
              "      --opt pixel_values=1x3x1024x1024 --max pixel_values=8x3x1024x1024 --timing-cache kiln.cache\n"
              "  kiln build model.onnx -o model_int8.kiln --int8 --calib pictures/ --calib-cache model.calib.json\n"
              "  kiln build model.onnx -o model_int8.kiln --int8 --calib pictures/ --accuracy-budget labels:99.5 --ref-data held_out/\n"
              "  kiln run model.kiln --input pixel_values=random");
  cmd->add_option("model", o->model, "Model file (.onnx)")->required();
  cmd->add_option("--output,-o", o->output, "Engine file to write")->required();
  cmd->add_option("--device", o->device, "cpu (default) or cuda (records this GPU's architecture, times kernels)");
  cmd->add_flag("--fp32", o->fp32, "fp32 storage and math, no TF32 (the default)");
  cmd->add_flag("--tf32", o->tf32, "fp32 storage, TF32 tensor-core math in GEMMs and convolutions (cuda)");
  cmd->add_flag("--fp16", o->fp16, "fp16 storage, fp32 accumulation and statistics (cuda); with --int8: its float parts");
  cmd->add_option("--shape", o->shapes, "NAME=1x3x512x512: fixed dims for a symbolic input (repeatable)");
  cmd->add_option("--min", o->min, "NAME=DIMS: smallest shape the engine accepts for an input (repeatable)");
  cmd->add_option("--opt", o->opt, "NAME=DIMS: the shape kernels are timed for");
  cmd->add_option("--max", o->max, "NAME=DIMS: largest shape the engine accepts");
  cmd->add_option("--timing-cache", o->timing_cache, "File of kernel timings, read if present and updated (cuda)");
  cmd->add_option("--disable-pass", o->disabled_passes,
                  "NAME: leave out one rewrite pass, for debugging (repeatable; `kiln inspect --fusions` names them)");
  cmd->add_flag("--int8", o->quant.int8,
                "INT8: calibrated int8 GEMMs and convs (activations per tensor, weights per channel); cpu or cuda");
  cmd->add_flag("--fp8", o->quant.fp8, "FP8 E4M3 calibration (amax/448) into --calib-cache; no FP8 engine yet");
  cmd->add_option("--calib", o->quant.calib_dir, "DIR of calibration pictures (.png/.jpg/.bmp) or .npy inputs");
  cmd->add_option("--calibrator", o->quant.calibrator, "entropy (default), percentile or minmax");
  cmd->add_option("--percentile", o->quant.percentile, "P for --calibrator percentile (default 99.99)");
  cmd->add_option("--calib-cache", o->quant.cache,
                  "FILE of calibrated ranges: read if present (must match the model), else written");
  cmd->add_option("--accuracy-budget", o->quant.accuracy_budget,
                  "labels:P (least % label agreement) or l2:X (largest rel L2): --int8 keeps the most sensitive "
                  "layers in float until --ref-data's outputs meet it");
  cmd->add_option("--ref-data", o->quant.ref_dir,
                  "DIR of held-out pictures or .npy inputs (not the --calib files) for --accuracy-budget");
  cmd->add_flag("--json", o->json, "Print a JSON report");
  return with_plugins(cmd, [o] { return build(*o); });
}

}  // namespace kiln::cli
