// `kiln build --int8|--fp8`: the flags, their checks before any work, and the step between the
// passes and the engine file — calibrate (or read the calibration cache), rewrite the optimized
// graph into explicit Q/DQ form (src/quant/insert_qdq.h), and fuse its int8 GEMMs into
// kiln.Int8MatMul (src/quant/fuse_int8_matmul.h): the graph the engine stores. With
// --accuracy-budget the accuracy guard (quant/accuracy_guard.h) first picks the layers that stay
// float, measured on --ref-data's held-out inputs.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "runtime/engine/engine_file.h"

namespace kiln::cli {

struct QuantFlags {
  bool int8 = false, fp8 = false;
  std::string calib_dir;
  std::string calibrator;   // empty: entropy
  double percentile = 0;    // 0: 99.99
  std::string cache;        // --calib-cache
  std::string accuracy_budget;  // --accuracy-budget labels:P | l2:X
  std::string ref_dir;          // --ref-data: held-out inputs for the budget
  std::string calibrator_name() const { return calibrator.empty() ? "entropy" : calibrator; }
  double percentile_value() const { return percentile == 0 ? 99.99 : percentile; }
};

// "int8", "fp8" or "" (no quantization), once the flags are coherent for `device`; every user
// error (exit 2) a build can know of before reading the model — --ref-data sharing a file (by
// path or bytes) with --calib among them. INT8 on cuda is refused in a build without the Q/DQ
// and kiln.Int8MatMul CUDA kernels: never a silent float fallback.
std::string quant_precision(const QuantFlags& q, const std::string& device);

// Calibrates g (the optimized float32 graph; eb: its precision, profiles and disabled passes) on --calib's files, or reads a matching
// --calib-cache, writes the cache when it calibrated, and rewrites g into Q/DQ form. Returns the
// "calibration" part of build's report, and with --accuracy-budget its "accuracy_guard" part.
// fp8 stops (kUnsupported) after writing the cache. Then fuses the int8 GEMMs
// (quant/fuse_int8_matmul.h); for --device cuda, a node left without a CUDA kernel is
// kUnsupported naming its op.
struct QuantBuildReport {
  nlohmann::json calibration;
  nlohmann::json accuracy_guard;  // null without --accuracy-budget
};
QuantBuildReport quantize_for_build(Graph& g, const EngineBuild& eb, const QuantFlags& q,
                                    const std::string& model_path, const std::string& device);

}  // namespace kiln::cli
