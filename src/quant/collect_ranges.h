// Runs calibration inputs through the float32 graph and keeps, for each tensor to be quantized, a
// RangeHistogram over every input (the executor's ValueDone callback sees each node output; graph
// inputs are read from the feeds). The CPU reference runs the graph unless the caller passes a
// ValueRun: `kiln build --device cuda` passes the GPU's (CudaExecutor::run_keeping).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "quant/calibrators.h"
#include "quant/range_histogram.h"
#include "runtime/cpu_executor.h"

namespace kiln::quant {

// Runs g on one input, handing every node output to the callback as a host tensor.
using ValueRun = std::function<void(const Graph& g, const TensorMap& inputs, const CpuExecutor::ValueDone& done)>;

class RangeCollector {
 public:
  explicit RangeCollector(const std::vector<std::string>& tensors);

  // One calibration input through g (which must compute every collected tensor, in float32), by
  // `run` or else the CPU reference.
  void add_run(const Graph& g, const TensorMap& inputs, const ValueRun& run = {});

  const std::map<std::string, RangeHistogram>& histograms() const { return hist_; }
  int runs() const { return runs_; }

  // Each tensor's amax by the calibrator; a tensor no run computed is an internal error.
  std::map<std::string, double> amax(Calibrator c, double percentile) const;

 private:
  void add(const std::string& name, const Tensor& t);
  std::map<std::string, RangeHistogram> hist_;
  int runs_ = 0;
};

}  // namespace kiln::quant
