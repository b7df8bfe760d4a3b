#include "quant/collect_ranges.h"

namespace kiln::quant {

RangeCollector::RangeCollector(const std::vector<std::string>& tensors) {
  for (const auto& t : tensors) hist_.emplace(t, RangeHistogram());
}

void RangeCollector::add(const std::string& name, const Tensor& t) {
  auto it = hist_.find(name);
  if (it == hist_.end()) return;
  if (t.dtype() != DType::kF32)
    fail(ErrorCode::kInternal, "calibration: tensor '" + name + "' is " + dtype_name(t.dtype()) + ", not float32");
  it->second.add(t.data<float>(), t.numel());
}

void RangeCollector::add_run(const Graph& g, const TensorMap& inputs, const ValueRun& run) {
  for (const auto& [name, t] : inputs) add(name, t);
  const CpuExecutor::ValueDone done = [this](const std::string& name, const Tensor& v) { add(name, v); };
  if (run) run(g, inputs, done);
  else CpuExecutor(g).run(inputs, {}, done);
  ++runs_;
}

std::map<std::string, double> RangeCollector::amax(Calibrator c, double percentile) const {
  std::map<std::string, double> out;
  for (const auto& [name, h] : hist_) {
    if (h.total() == 0 && h.non_finite() == 0)
      fail(ErrorCode::kInternal, "calibration never computed tensor '" + name + "'");
    out[name] = amax_of(h, c, percentile);
  }
  return out;
}

}  // namespace kiln::quant
