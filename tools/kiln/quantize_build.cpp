#include "quantize_build.h"

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>

#include "accuracy_guard_report.h"
#include "io/file_util.h"
#include "io/progress.h"
#include "ops/registry.h"
#include "picture_task.h"
#include "quant/calib_cache.h"
#include "quant/calib_data.h"
#include "quant/collect_ranges.h"
#include "quant/cuda_coverage.h"
#include "quant/accuracy_guard.h"
#include "quant/quant_targets.h"
#include "quant/quantize_graph.h"
#include "runtime/specialize.h"
#ifdef KILN_WITH_CUDA
#include "runtime/cuda/cuda_executor.h"
#endif

namespace kiln::cli {
namespace {
namespace fs = std::filesystem;

bool cache_exists(const QuantFlags& q) {
  std::error_code ec;
  return !q.cache.empty() && fs::exists(q.cache, ec);
}

// Held-out means none of the calibration files, whatever their names: the same path or the
// same bytes is refused.
void check_held_out(const QuantFlags& q) {
  const std::vector<std::string> ref = quant::calibration_files(q.ref_dir, "--ref-data");
  if (q.calib_dir.empty()) return;  // ranges from --calib-cache: its files are not known
  std::multimap<uintmax_t, std::string> calib;  // by size: only same-sized files are read
  for (const std::string& f : quant::calibration_files(q.calib_dir)) calib.emplace(fs::file_size(f), f);
  for (const std::string& f : ref) {
    const auto [lo, hi] = calib.equal_range(fs::file_size(f));
    for (auto it = lo; it != hi; ++it) {
      std::error_code ec;
      if (fs::equivalent(f, it->second, ec) || read_file(f) == read_file(it->second))
        fail(ErrorCode::kInvalidArgument, "--ref-data file " + f + " is the calibration file " + it->second +
                                              "; the accuracy guard needs held-out inputs that --calib does not use");
    }
  }
}

// --ref-data's inputs, prepared as calibration's are.
std::vector<TensorMap> held_out_inputs(const Graph& g, const QuantFlags& q) {
  if (g.inputs.size() != 1)
    fail(ErrorCode::kInvalidArgument, "--ref-data feeds models with one input; this one has " +
                                          std::to_string(g.inputs.size()));
  std::vector<TensorMap> feeds;
  for (const std::string& file : quant::calibration_files(q.ref_dir, "--ref-data"))
    feeds.push_back({{g.inputs[0], quant::calibration_input(file, g, g.inputs[0], default_mean(""), default_std(""),
                                                             "--ref-data")}});
  return feeds;
}

// The ranges of `tensors` over the calibration inputs, the float32 graph run on the build's
// device: the CPU reference, or the GPU (one executor per graph, every node output copied back).
quant::CalibCache calibrate(const Graph& g, const EngineBuild& eb, const QuantFlags& q,
                            const std::vector<std::string>& tensors, const std::string& device) {
  if (g.inputs.size() != 1)
    fail(ErrorCode::kInvalidArgument, "--calib feeds models with one input; this one has " +
                                          std::to_string(g.inputs.size()));
  const std::string& input = g.inputs[0];
  const std::vector<std::string> files = quant::calibration_files(q.calib_dir);
  const std::array<float, 3> mean = default_mean(""), std = default_std("");
  quant::RangeCollector collector(tensors);
  quant::ValueRun run;  // the CPU reference
#ifdef KILN_WITH_CUDA
  std::map<const Graph*, std::unique_ptr<CudaExecutor>> executors;
  if (device == "cuda")
    run = [&executors](const Graph& rg, const TensorMap& in, const CpuExecutor::ValueDone& done) {
      std::unique_ptr<CudaExecutor>& e = executors[&rg];
      if (!e) e = std::make_unique<CudaExecutor>(rg);
      e->run_keeping(in, done);
    };
#else
  (void)device;
#endif
  std::map<std::map<std::string, Dims>, Graph> specialized;  // one per input shape, not per file
  Progress bar("calibrate", int64_t(files.size()), std::chrono::milliseconds(500));
  for (const std::string& file : files) {
    TensorMap feeds{{input, quant::calibration_input(file, g, input, mean, std)}};
    const std::map<std::string, Dims> dims = dims_of(feeds);
    if (matches_static_inputs(g, dims)) {
      collector.add_run(g, feeds, run);
    } else {
      auto it = specialized.find(dims);
      if (it == specialized.end())  // eb: the same disabled passes
        it = specialized.emplace(dims, specialize(g, dims, eb, "the model")).first;
      collector.add_run(it->second, feeds, run);
    }
    bar.advance();
  }
  bar.clear();
  quant::CalibCache c;
  c.precision = eb.precision;
  c.calibrator = q.calibrator_name();
  c.percentile = q.percentile_value();
  c.inputs = collector.runs();
  c.amax = collector.amax(quant::calibrator_from_name(c.calibrator), c.percentile);
  return c;
}

}  // namespace

std::string quant_precision(const QuantFlags& q, const std::string& device) {
  if (q.int8 && q.fp8) fail(ErrorCode::kInvalidArgument, "give one of --int8 and --fp8");
  for (const auto& [given, flag] :
       {std::pair{!q.accuracy_budget.empty(), "--accuracy-budget"}, {!q.ref_dir.empty(), "--ref-data"}})
    if (given && !q.int8)
      fail(ErrorCode::kInvalidArgument, std::string(flag) + " needs --int8 (it picks the layers an INT8 engine keeps in float)");
  if (!q.int8 && !q.fp8) {
    for (const auto& [given, flag] : {std::pair{!q.calib_dir.empty(), "--calib"}, {!q.cache.empty(), "--calib-cache"},
                                      {!q.calibrator.empty(), "--calibrator"}, {q.percentile != 0, "--percentile"}})
      if (given) fail(ErrorCode::kInvalidArgument, std::string(flag) + " needs --int8 or --fp8");
    return "";
  }
  const std::string p = q.int8 ? "int8" : "fp8";
  const quant::Calibrator c = quant::calibrator_from_name(q.calibrator_name());
  if (q.percentile != 0 && c != quant::Calibrator::kPercentile)
    fail(ErrorCode::kInvalidArgument, "--percentile needs --calibrator percentile");
  quant::check_percentile(q.percentile_value());
  if (q.calib_dir.empty() && !cache_exists(q))
    fail(ErrorCode::kInvalidArgument, "--" + p + " needs --calib DIR (or an existing --calib-cache FILE)");
  if (device == "cuda" && (p == "fp8" || !quant::cuda_runs_int8()))
    fail(ErrorCode::kUnsupported, "--" + p + " --device cuda: " + (p == "fp8" ? "FP8" : "INT8") +
                                      " CUDA kernels are not built yet (the CPU reference runs --" + p +
                                      " engines: --device cpu)");
  if (!q.accuracy_budget.empty()) {
    quant::parse_accuracy_budget(q.accuracy_budget);
    if (q.ref_dir.empty())
      fail(ErrorCode::kInvalidArgument, "--accuracy-budget needs --ref-data DIR: held-out inputs, not the --calib files");
    check_held_out(q);
  } else if (!q.ref_dir.empty()) {
    fail(ErrorCode::kInvalidArgument, "--ref-data needs --accuracy-budget labels:P or l2:X");
  }
  if (p == "fp8" && q.cache.empty())
    fail(ErrorCode::kUnsupported, "--fp8: kiln has no float8 e4m3 dtype yet, so no FP8 engine; "
                                  "with --calib-cache FILE it writes the E4M3 calibration for later");
  return p;
}

QuantBuildReport quantize_for_build(Graph& g, const EngineBuild& eb, const QuantFlags& q,
                                    const std::string& model_path, const std::string& device) {
  const std::string& precision = eb.precision;
  const std::string hash = quant::model_hash_of_file(model_path);
  const quant::QuantTargets targets = quant::find_quant_targets(g);
  quant::CalibCache cache;
  std::string cache_use = "none";
  if (cache_exists(q)) {
    cache = quant::read_calib_cache(q.cache);
    quant::check_calib_cache(cache, q.cache, hash, q.calibrator_name(), q.percentile_value());
    cache_use = "read";
  } else {
    cache = calibrate(g, eb, q, targets.activations, device);
    cache.model_hash = hash;
    if (!q.cache.empty()) {
      quant::write_calib_cache(q.cache, cache);
      cache_use = "written";
    }
  }
  if (precision == "fp8")
    fail(ErrorCode::kUnsupported, "--fp8: E4M3 ranges (amax/448) " +
                                      std::string(cache_use == "written" ? "written to " : "are in ") + q.cache +
                                      "; kiln has no float8 e4m3 dtype yet, so no FP8 engine (use --int8)");
  QuantBuildReport report;
  std::set<std::string> keep_float;
  if (!q.accuracy_budget.empty()) {
    quant::GraphRunnerFactory runner;  // the CPU reference
#ifdef KILN_WITH_CUDA
    if (device == "cuda")  // the candidates on the kernels the engine will run
      runner = [](const Graph& c) -> quant::GraphRunner {
        auto exec = std::make_shared<CudaExecutor>(c);
        return [exec](const TensorMap& in) { return exec->run(in); };
      };
#endif
    const quant::GuardResult guard = quant::guard_accuracy(g, cache.amax, held_out_inputs(g, q),
                                                           quant::parse_accuracy_budget(q.accuracy_budget), eb, runner);
    keep_float = guard.keep_float;
    report.accuracy_guard = accuracy_guard_json(guard);
    report.accuracy_guard["evaluated_on"] = runner ? "cuda" : "cpu";
  }
  // The passes ran before these Q/DQ pairs existed: quantize_graph runs the int8 fusions on them.
  const quant::QuantizeReport r = quant::quantize_graph(g, cache.amax, eb.disabled_passes, keep_float);
  if (device == "cuda")
    if (const std::vector<std::string> missing = quant::ops_without_cuda_kernel_in(g); !missing.empty()) {
      std::string list;
      for (const std::string& op : missing) list += (list.empty() ? "" : ", ") + op;
      fail(ErrorCode::kUnsupported, "--int8 --device cuda: the quantized engine has no CUDA kernel for " + list +
                                        " (the CPU reference runs it: --device cpu)");
    }
  report.calibration = {{"calibrator", cache.calibrator}, {"percentile", cache.percentile}, {"inputs", cache.inputs},
                        {"cache", cache_use}, {"calibrated_on", cache_use == "read" ? "" : device},
                        {"quantized_activations", r.qdq.activations},
                        {"quantized_weights", r.qdq.weights}, {"qdq_nodes", r.qdq.nodes_added},
                        {"int8_gemms", r.int8_gemms}, {"int8_convs", r.int8_convs}};
  return report;
}

}  // namespace kiln::cli
