#include "quantize_build.h"

#include <chrono>
#include <filesystem>
#include <map>

#include "io/progress.h"
#include "ops/registry.h"
#include "picture_task.h"
#include "quant/calib_cache.h"
#include "quant/calib_data.h"
#include "quant/collect_ranges.h"
#include "quant/cuda_coverage.h"
#include "passes/fuse_int8_conv.h"
#include "passes/fuse_int8_matmul.h"
#include "quant/insert_qdq.h"
#include "quant/quant_targets.h"
#include "runtime/specialize.h"

namespace kiln::cli {
namespace {
namespace fs = std::filesystem;

bool cache_exists(const QuantFlags& q) {
  std::error_code ec;
  return !q.cache.empty() && fs::exists(q.cache, ec);
}

quant::CalibCache calibrate(const Graph& g, const EngineBuild& eb, const QuantFlags& q,
                            const std::vector<std::string>& tensors) {
  if (g.inputs.size() != 1)
    fail(ErrorCode::kInvalidArgument, "--calib feeds models with one input; this one has " +
                                          std::to_string(g.inputs.size()));
  const std::string& input = g.inputs[0];
  const std::vector<std::string> files = quant::calibration_files(q.calib_dir);
  const std::array<float, 3> mean = default_mean(""), std = default_std("");
  quant::RangeCollector collector(tensors);
  std::map<std::map<std::string, Dims>, Graph> specialized;  // one per input shape, not per file
  Progress bar("calibrate", int64_t(files.size()), std::chrono::milliseconds(500));
  for (const std::string& file : files) {
    TensorMap feeds{{input, quant::calibration_input(file, g, input, mean, std)}};
    const std::map<std::string, Dims> dims = dims_of(feeds);
    if (matches_static_inputs(g, dims)) {
      collector.add_run(g, feeds);
    } else {
      auto it = specialized.find(dims);
      if (it == specialized.end())  // eb: the same disabled passes
        it = specialized.emplace(dims, specialize(g, dims, eb, "the model")).first;
      collector.add_run(it->second, feeds);
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
  if (p == "fp8" && q.cache.empty())
    fail(ErrorCode::kUnsupported, "--fp8: kiln has no float8 e4m3 dtype yet, so no FP8 engine; "
                                  "with --calib-cache FILE it writes the E4M3 calibration for later");
  return p;
}

nlohmann::json quantize_for_build(Graph& g, const EngineBuild& eb, const QuantFlags& q,
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
    cache = calibrate(g, eb, q, targets.activations);
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
  const quant::QdqReport r = quant::insert_qdq_int8(g, cache.amax);
  // The passes ran before insert_qdq made these Q/DQ pairs: the int8 fusions run again on them.
  const bool gemms = !eb.disabled_passes.count("fuse_int8_matmul"), convs = !eb.disabled_passes.count("fuse_int8_conv");
  const int int8_gemms = gemms ? fuse_int8_matmul(g) : 0, int8_convs = convs ? fuse_int8_conv(g) : 0;
  if (device == "cuda")
    if (const std::vector<std::string> missing = quant::ops_without_cuda_kernel_in(g); !missing.empty()) {
      std::string list;
      for (const std::string& op : missing) list += (list.empty() ? "" : ", ") + op;
      fail(ErrorCode::kUnsupported, "--int8 --device cuda: the quantized engine has no CUDA kernel for " + list +
                                        " (the CPU reference runs it: --device cpu)");
    }
  return {{"calibrator", cache.calibrator}, {"percentile", cache.percentile}, {"inputs", cache.inputs},
          {"cache", cache_use}, {"quantized_activations", r.activations}, {"quantized_weights", r.weights},
          {"qdq_nodes", r.nodes_added}, {"int8_gemms", int8_gemms}, {"int8_convs", int8_convs}};
}

}  // namespace kiln::cli
