// Per-tensor comparison of one run of a graph against a reference run (kiln compare): every
// tensor the compared graph computes that the reference graph also computes under the same
// name, in the compared graph's topological order, with the first tensor whose error "jumps".
//
// Jump rule: a compared tensor jumps when it is out of tolerance while every compared tensor it
// is computed from is within it. "Computed from" looks through tensors the reference lacks
// (inside a fusion, or made by a rewrite) to the nearest compared ones; graph inputs and
// constants are the same feeds on both sides and do not count. So the jump names the layer that
// introduces an error, not the ones downstream that only carry it.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "passes/fusion_record.h"
#include "runtime/cpu_executor.h"
#include "runtime/output_compare.h"

namespace kiln {

// A tensor is within tolerance when it is finite and rel_l2 <= rtol or max_abs <= atol (atol
// lets tensors whose reference is near zero pass on their absolute error); a graph output of
// class scores must also agree on labels by min_labels, when given.
struct Tolerance {
  double rtol = 1e-4;
  double atol = 0;
  std::optional<double> min_labels;
};

// The default tolerance for a precision ("fp32", "tf32", "fp16"): the rel L2 of
// accuracy_criterion (1e-4, 5e-3, 1e-2) and atol 1e-6 (1e-3 for fp16: its spacing near 1).
Tolerance default_tolerance(const std::string& precision);

enum class TensorStatus { kWithin, kOutOfTolerance, kShapeMismatch };

struct TensorComparison {
  std::string name;
  NodeRef producer;  // in the compared graph
  std::string dtype, ref_dtype;
  Dims dims, ref_dims;
  bool graph_output = false;
  TensorStatus status = TensorStatus::kWithin;
  OutputComparison stats;  // when the shapes agree
  bool jump = false;       // out of tolerance while everything it is computed from is within
  // The reference nodes this tensor's producer stands for: the reference's nodes between the
  // nearest compared tensors (or inputs, constants) and this one, in reference order. One node
  // for an unfused layer, the replaced nodes for a fusion.
  std::vector<NodeRef> covers;
};

struct LayerReport {
  std::vector<TensorComparison> tensors;  // the compared graph's topological order
  std::optional<size_t> first_jump;       // index into tensors
  int not_in_reference = 0;  // per_layer: node outputs of the compared graph the reference lacks
  int mismatches = 0;        // tensors out of tolerance or of another shape
};

// Compares `values` (the compared graph's node outputs by name; graph outputs at least) with
// `ref_values` (the reference's). With per_layer, every node output of `graph` present in both
// maps and computed by a node of `ref` too; otherwise only the graph outputs. A graph output
// the reference lacks is a user error (the models do not match), as is having none in common.
LayerReport compare_layers(const Graph& graph, const TensorMap& values, const Graph& ref, const TensorMap& ref_values,
                           const Tolerance& tol, bool per_layer);

// "within", "OUT", "SHAPE"
const char* status_name(TensorStatus s);

}  // namespace kiln
