// The calibration cache: amax values come back bit for bit, and a cache made for another model,
// calibrator or percentile — or not a cache at all — is a user error naming the file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>

#include "io/file_util.h"
#include "kiln/status.h"
#include "onnx_builder.h"
#include "quant/calib_cache.h"

namespace kiln::quant {
namespace {

CalibCache sample() {
  CalibCache c;
  c.model_hash = "00112233aabbccdd";
  c.precision = "int8";
  c.calibrator = "percentile";
  c.percentile = 99.99;
  c.inputs = 3;
  c.amax = {{"x", 0.1}, {"/a/b:0", 1.0 / 3}, {"tiny", 1e-30}, {"huge", 3.4e38}, {"zero", 0.0},
            {"odd", std::nextafter(2.0, 3.0)}};
  return c;
}

ErrorCode code_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return ErrorCode::kInternal;  // "did not throw": no test expects kInternal
}

TEST(CalibCache, RoundTripIsExact) {
  const std::string dir = test::make_temp_dir("calib_cache");
  const std::string path = dir + "/c.json";
  write_calib_cache(path, sample());
  const CalibCache back = read_calib_cache(path);
  EXPECT_EQ(back.amax, sample().amax);
  EXPECT_EQ(back.model_hash, "00112233aabbccdd");
  EXPECT_EQ(back.calibrator, "percentile");
  EXPECT_EQ(back.percentile, 99.99);
  EXPECT_EQ(back.inputs, 3);
  const std::string text = read_file(path);
  EXPECT_NE(text.find("\"scale\": 0.0007874015748031"), std::string::npos) << "x's scale is 0.1/127:\n" << text;
  CalibCache fp8 = sample();
  fp8.precision = "fp8";
  EXPECT_NE(calib_cache_to_json(fp8).find("\"scale\": 0.0002232142857142"), std::string::npos) << "0.1/448";
  std::filesystem::remove_all(dir);
}

TEST(CalibCache, MismatchesAreUserErrors) {
  const CalibCache c = sample();
  std::string m;
  EXPECT_EQ(code_of([&] { check_calib_cache(c, "c.json", "ffffffffffffffff", "percentile", 99.99); }, &m),
            ErrorCode::kInvalidArgument);
  EXPECT_NE(m.find("c.json was made for another model"), std::string::npos) << m;
  EXPECT_EQ(code_of([&] { check_calib_cache(c, "c.json", c.model_hash, "entropy", 99.99); }, &m),
            ErrorCode::kInvalidArgument);
  EXPECT_NE(m.find("holds percentile ranges, not entropy"), std::string::npos) << m;
  EXPECT_EQ(code_of([&] { check_calib_cache(c, "c.json", c.model_hash, "percentile", 99.9); }, &m),
            ErrorCode::kInvalidArgument);
  EXPECT_NO_THROW(check_calib_cache(c, "c.json", c.model_hash, "percentile", 99.99));
}

TEST(CalibCache, MalformedFilesAreRefused) {
  for (const std::string text : {"", "{", "[1, 2]", R"({"format": "other"})",
                                 R"({"format": "kiln-calibration-cache", "version": 2})",
                                 R"({"format": "kiln-calibration-cache", "version": 1, "model_hash": "x"})",
                                 R"({"format": "kiln-calibration-cache", "version": 1, "model_hash": "x", "precision": "int8",
                                     "calibrator": "minmax", "percentile": 0, "inputs": 1, "tensors": {"t": {"amax": -1}}})"}) {
    std::string m;
    EXPECT_EQ(code_of([&] { calib_cache_from_json(text, "cache c.json"); }, &m), ErrorCode::kInvalidArgument) << text;
    EXPECT_NE(m.find("cache c.json"), std::string::npos) << m;
  }
}

TEST(CalibCache, ModelHashFollowsTheBytes) {
  const std::string dir = test::make_temp_dir("calib_hash");
  write_file_atomic(dir + "/a.onnx", "abc");
  write_file_atomic(dir + "/b.onnx", "abd");
  write_file_atomic(dir + "/c.onnx", "abc");
  EXPECT_NE(model_hash_of_file(dir + "/a.onnx"), model_hash_of_file(dir + "/b.onnx"));
  EXPECT_EQ(model_hash_of_file(dir + "/a.onnx"), model_hash_of_file(dir + "/c.onnx"));
  EXPECT_EQ(model_hash_of_file(dir + "/a.onnx").size(), 16u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kiln::quant
