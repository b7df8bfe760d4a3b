// Where `kiln run --task` post-processes: on the CPU from the host copies of the outputs (the
// default), or through these functions, which `run --device cuda` points at the GPU versions
// (src/runtime/cuda/post) reading the outputs where the model left them (cmd_run.cpp). Either way
// the report says where it ran and how long it took: report["post_processing"] =
// {"device": "cpu" | "cuda", "time_ms": ...}.
#pragma once
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "io/detection_post.h"
#include "io/mask2former_post.h"

namespace kiln::cli {

struct TaskPostProcessing {
  std::string device = "cpu";  // where the functions below run
  // Each empty: the CPU reference on the host outputs.
  std::function<std::vector<std::vector<Detection>>(const std::vector<BoxScale>& scales, int64_t k)> detections;
  std::function<LabelMap(const Mask2FormerSize&)> semantic;
  std::function<Panoptic(const PanopticOptions&, const Mask2FormerSize&)> panoptic;
};

// Runs `compute` and records in report where (device) and how long it took; returns its result.
template <class Fn> auto timed_post_processing(nlohmann::json& report, const std::string& device, Fn&& compute) {
  const auto t0 = std::chrono::steady_clock::now();
  auto result = compute();
  report["post_processing"] = {
      {"device", device},
      {"time_ms", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()}};
  return result;
}

}  // namespace kiln::cli
