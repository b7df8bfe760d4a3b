// The calibration cache: the calibrated amax of every quantized tensor, with what produced it
// (model hash, calibrator, percentile), so a later `kiln build --calib-cache FILE` skips the
// calibration runs. JSON, small and readable:
//
//   {"format": "kiln-calibration-cache", "version": 1, "model_hash": "a1b2...", "precision": "int8",
//    "calibrator": "entropy", "percentile": 99.99, "inputs": 16,
//    "tensors": {"/encoder/ln/Y": {"amax": 3.52, "scale": 0.0277}, ...}}
//
// "scale" is amax / 127 (int8) or amax / 448 (fp8 E4M3's largest finite value), for readers;
// kiln reads amax (doubles written with 17 digits: the round trip is exact).
#pragma once
#include <map>
#include <string>

namespace kiln::quant {

struct CalibCache {
  std::string model_hash;
  std::string precision = "int8";  // "int8" | "fp8"
  std::string calibrator;
  double percentile = 0;
  int inputs = 0;
  std::map<std::string, double> amax;
};

// A hash of the model file's bytes (checksum64, hex).
std::string model_hash_of_file(const std::string& path);

// The quantized range's largest magnitude for a precision: 127 or 448.
double quantized_max(const std::string& precision);

std::string calib_cache_to_json(const CalibCache& c);
// kInvalidArgument naming `what` for anything malformed.
CalibCache calib_cache_from_json(const std::string& text, const std::string& what);
CalibCache read_calib_cache(const std::string& path);
void write_calib_cache(const std::string& path, const CalibCache& c);  // atomic

// A cache made for another model, calibrator or percentile is kInvalidArgument: one line naming
// the file, what differs, and what to do.
void check_calib_cache(const CalibCache& c, const std::string& path, const std::string& model_hash,
                       const std::string& calibrator, double percentile);

}  // namespace kiln::quant
