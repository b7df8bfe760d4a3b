// The accuracy guard of `kiln build --int8 --accuracy-budget B --ref-data DIR`: which
// quantization targets (quant_targets.h: a GEMM or convolution with its activation's Q/DQ and its
// weight's) stay in float so that the engine's outputs keep within the budget on held-out
// inputs, while as much of the int8 work as possible stays int8. LayerNorm, Softmax and the rest
// never are quantized in kiln; what the guard finds sensitive are the GEMMs they feed (the
// projections after a LayerNorm, the classifier, the patch embedding), by measuring, not by rule.
//
// Reference: the optimized float32 graph, run once on each held-out input. A candidate is
// quantize_graph (quantize_graph.h) of that graph for a set of targets kept in float, from the
// ranges calibrated once, run on the same inputs: the engine's int8 semantics. Both run on the
// CPU reference, or on the GPU's kernels when the build targets it (`kiln build --device cuda`
// passes a GraphRunnerFactory that makes CUDA executors), which is what makes the guard usable on
// models the size of SegFormer-B2. (An --int8 --fp16 engine stores its float parts
// in fp16 afterwards; the guard still judges int8 against fp32.)
//
//   1. Sensitivity: each target quantized alone, every other kept float, measured against the
//      reference. Ranked by the budget's error (100 − labels %, or rel L2), ties by rel L2: a
//      single layer often keeps every label of a small held-out set.
//   2. If no target alone meets the budget, no mix with any int8 layer will (their errors pile
//      up): kInvalidArgument naming the best single-layer figure.
//   3. Greedy: everything quantized; while the budget is violated, keep the most sensitive
//      remaining target in float. It stops at the latest when only the least sensitive target
//      is left quantized, which step 2 found within the budget.
//   4. Give back: errors do not add (two layers' errors cancel, one layer's hides another's), so
//      the greedy may keep more than it needs. Each kept target, most FLOPs first, is tried
//      quantized again and stays so when the budget still holds: a layer's int8 gain grows with
//      its multiply-adds, so the costly ones are won back first.
//
// Why not rank by sensitivity per FLOP (the knapsack order, keeping cheap sensitive layers
// first)? It assumes errors that add, which label agreement does not; and the usual culprit, one
// layer whose activation range an outlier dominates, would come after a run of cheap layers that
// barely help — more evaluations, and more kept layers for step 4 to win back one at a time.
// Sensitivity order reaches the budget in the fewest steps; step 4 spends the FLOPs where they pay.
//
// Cost: T + 1 + 2k evaluations for T targets of which k are kept, each running every held-out
// input; the inputs and the reference outputs stay in memory throughout.
#pragma once
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "quant/accuracy_budget.h"
#include "runtime/engine/engine_file.h"

namespace kiln::quant {

struct GuardLayer {
  std::string output;    // the target's key: its GEMM's or conv's output value (keep_float's names)
  std::string node, op;  // for the report
  double flops = 0;      // at the first held-out input's dims
  Agreement alone;       // the outputs with only this target quantized
  double error = 0;      // budget_error(alone)
};

struct GuardResult {
  AccuracyBudget budget;
  int inputs = 0;
  std::vector<GuardLayer> layers;    // every target, most sensitive first
  std::set<std::string> keep_float;  // outputs of the targets kept in float
  Agreement all_int8, chosen;        // every target quantized; the choice
  int given_back = 0;                // kept by step 3, quantized again by step 4
  int evaluations = 0;
};

// Makes what runs one graph on one input at a time (for every held-out input in turn).
using GraphRunner = std::function<TensorMap(const TensorMap&)>;
using GraphRunnerFactory = std::function<GraphRunner(const Graph&)>;

// g: the optimized float32 graph (eb: the build's disabled passes, used when an input's dims
// need a specialized graph); amax: its calibrated ranges; inputs: the held-out feeds. A labels
// budget for a model whose first output holds no class scores [N, C, ...] is kInvalidArgument,
// as is a float reference with non-finite outputs. make_runner: the CPU reference when empty.
GuardResult guard_accuracy(const Graph& g, const std::map<std::string, double>& amax,
                           const std::vector<TensorMap>& inputs, const AccuracyBudget& budget,
                           const EngineBuild& eb, const GraphRunnerFactory& make_runner = {});

}  // namespace kiln::quant
