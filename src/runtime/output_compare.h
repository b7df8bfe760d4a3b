// How close an output is to a reference (kiln bench --ref, accuracy checks): relative L2
// ‖got−ref‖/‖ref‖, max abs diff, whether every value is finite, and for class scores
// [N, C, ...] (rank >= 3, C > 1: segmentation logits) the label agreement: the share of positions
// whose argmax over C equals the reference's.
#pragma once
#include <optional>
#include <string>

#include "ir/tensor.h"

namespace kiln {

struct OutputComparison {
  double rel_l2 = 0;
  double max_abs = 0;
  bool finite = true;                     // no NaN/Inf in got
  std::optional<double> label_agreement;  // class scores [N, C, ...] only
  // What rel_l2 and label_agreement are made of, so callers can pool them over several runs.
  double sq_diff = 0, sq_ref = 0;               // Σ (got − ref)², Σ ref²
  int64_t same_labels = 0, label_positions = 0;  // positions whose argmax over C agrees, of all
};

// Shapes must match (kInvalidArgument naming `what` otherwise).
OutputComparison compare_output(const Tensor& got, const Tensor& ref, const std::string& what);

// The pass criterion for a precision, as one line ("rel_l2 <= 1e-4"), and whether c meets it.
std::string accuracy_criterion(const std::string& precision, bool has_labels);
bool meets_criterion(const OutputComparison& c, const std::string& precision);

}  // namespace kiln
