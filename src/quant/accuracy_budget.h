// `kiln build --accuracy-budget`: how close a quantized engine's outputs must stay to the float
// graph's on held-out inputs, and the measure of it over all those inputs together.
//
//   labels:P  at least P % label agreement: argmax over axis 1 of the first output, the class
//             scores [N, C, ...] that bench --ref reads labels from (runtime/output_compare.h)
//   l2:X      at most X relative L2 ‖got−ref‖/‖ref‖ of every output (the worst one counts)
//
// Pooled, not averaged per input: the labels are counted over every position of every input,
// and each output's L2 sums its squares over every input before the root — one input with a
// tiny ‖ref‖ cannot swing the figure.
#pragma once
#include <map>
#include <optional>
#include <string>

#include "runtime/cpu_executor.h"

namespace kiln::quant {

struct AccuracyBudget {
  enum class Metric { kLabels, kRelL2 };
  Metric metric = Metric::kRelL2;
  double limit = 0;  // percent for kLabels, a ratio for kRelL2
  std::string text() const;  // as given: "labels:99.5", "l2:0.02"
  // The criterion in words: "label agreement >= 99.5%", "rel L2 <= 0.02".
  std::string criterion() const;
};

// kInvalidArgument (one line saying the two forms) for anything but labels:P with 0 < P <= 100
// or l2:X with X >= 0.
AccuracyBudget parse_accuracy_budget(const std::string& text);

// Outputs against the reference, pooled over inputs.
struct Agreement {
  std::optional<double> labels_percent;  // the first output's, when it holds class scores
  double rel_l2 = 0;                     // the worst output's
  bool finite = true;
};

// How far a meets the budget's figure, larger is worse (100 − labels %, or the rel L2);
// infinite when an output is not finite. The guard ranks sensitivities by it.
double budget_error(const Agreement& a, const AccuracyBudget& b);
bool within_budget(const Agreement& a, const AccuracyBudget& b);
// The budget's figure of a, in words: "labels 99.62%", "rel L2 0.0131".
std::string budget_figure(const Agreement& a, const AccuracyBudget& b);

class AgreementTally {
 public:
  // One input's outputs (by name, as CpuExecutor::run gives them) against its reference; the
  // first of `outputs` is the one labels are read from.
  void add(const TensorMap& got, const TensorMap& ref, const std::vector<std::string>& outputs);
  Agreement result() const;

 private:
  std::map<std::string, std::pair<double, double>> squares_;  // output → (Σ(got−ref)², Σref²)
  int64_t same_labels_ = 0, positions_ = 0;
  bool labels_ = true, finite_ = true;
};

}  // namespace kiln::quant
