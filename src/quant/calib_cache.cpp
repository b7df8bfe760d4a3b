#include "quant/calib_cache.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "io/file_util.h"
#include "kiln/status.h"
#include "runtime/engine/checksum.h"

namespace kiln::quant {
namespace {

constexpr const char* kFormat = "kiln-calibration-cache";
constexpr int kVersion = 1;

}  // namespace

std::string model_hash_of_file(const std::string& path) {
  const std::string bytes = read_file(path);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", (unsigned long long)checksum64(bytes.data(), bytes.size()));
  return hex;
}

double quantized_max(const std::string& precision) { return precision == "fp8" ? 448.0 : 127.0; }

std::string calib_cache_to_json(const CalibCache& c) {
  nlohmann::json j = {{"format", kFormat},         {"version", kVersion},       {"model_hash", c.model_hash},
                      {"precision", c.precision},  {"calibrator", c.calibrator}, {"percentile", c.percentile},
                      {"inputs", c.inputs},        {"tensors", nlohmann::json::object()}};
  for (const auto& [name, amax] : c.amax)
    j["tensors"][name] = {{"amax", amax}, {"scale", amax / quantized_max(c.precision)}};
  return j.dump(1) + "\n";
}

CalibCache calib_cache_from_json(const std::string& text, const std::string& what) {
  const std::string bad = what + " is not a kiln calibration cache";
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("format", "") != kFormat) fail(ErrorCode::kInvalidArgument, bad + " (delete it to recalibrate)");
  if (j.value("version", 0) != kVersion)
    fail(ErrorCode::kInvalidArgument, what + " has calibration cache version " + j["version"].dump() + "; this kiln reads " +
                                          std::to_string(kVersion) + " (delete it to recalibrate)");
  CalibCache c;
  try {
    c.model_hash = j.at("model_hash").get<std::string>();
    c.precision = j.at("precision").get<std::string>();
    c.calibrator = j.at("calibrator").get<std::string>();
    c.percentile = j.at("percentile").get<double>();
    c.inputs = j.at("inputs").get<int>();
    for (const auto& [name, t] : j.at("tensors").items()) {
      const double amax = t.at("amax").get<double>();
      if (!(amax >= 0) || !std::isfinite(amax)) throw std::runtime_error("amax");
      c.amax[name] = amax;
    }
  } catch (const std::exception&) {
    fail(ErrorCode::kInvalidArgument, bad + ": a field is missing or mistyped (delete it to recalibrate)");
  }
  return c;
}

CalibCache read_calib_cache(const std::string& path) {
  return calib_cache_from_json(read_file(path, uint64_t(1) << 28), "calibration cache " + path);
}

void write_calib_cache(const std::string& path, const CalibCache& c) { write_file_atomic(path, calib_cache_to_json(c)); }

void check_calib_cache(const CalibCache& c, const std::string& path, const std::string& model_hash,
                       const std::string& calibrator, double percentile) {
  const std::string fix = "; delete it or give another --calib-cache";
  if (c.model_hash != model_hash)
    fail(ErrorCode::kInvalidArgument, "calibration cache " + path + " was made for another model (hash " + c.model_hash +
                                          ", this model's is " + model_hash + ")" + fix);
  if (c.calibrator != calibrator)
    fail(ErrorCode::kInvalidArgument, "calibration cache " + path + " holds " + c.calibrator +
                                          " ranges, not " + calibrator + " (pass --calibrator " + c.calibrator + ")" + fix);
  if (calibrator == "percentile" && c.percentile != percentile)
    fail(ErrorCode::kInvalidArgument, "calibration cache " + path + " holds the " + std::to_string(c.percentile) +
                                          " percentile, not " + std::to_string(percentile) + fix);
}

}  // namespace kiln::quant
