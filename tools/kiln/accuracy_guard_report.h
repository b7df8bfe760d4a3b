// What `kiln build --accuracy-budget` tells: the guard's choice (quant/accuracy_guard.h) as the
// report's "accuracy_guard" object, and the same as lines for the terminal.
#pragma once
#include <nlohmann/json.hpp>

#include "quant/accuracy_guard.h"

namespace kiln::cli {

// {"budget", "criterion", "ref_inputs", "layers", "quantized", "kept_float": [{"node", "op",
//  "output", "flops", "alone": {...}}], "sensitivity": [every layer, most sensitive first],
//  "all_int8": {...}, "chosen": {...}, "figure", "given_back", "evaluations"}; each {...} holds
// "rel_l2" and, where there are labels, "labels_percent". "figure" is the chosen budget figure
// (labels % or rel L2).
nlohmann::json accuracy_guard_json(const quant::GuardResult& r);

// The summary line and the table of layers kept in float, from accuracy_guard_json's object.
void print_accuracy_guard(const nlohmann::json& j);

}  // namespace kiln::cli
