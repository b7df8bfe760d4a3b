// An engine or model graph made concrete for one set of input dims: the dims are checked
// against the graph's inputs (and the engine's shape profiles), written into the input types,
// and the pass pipeline re-infers and folds every shape computation for them.
#pragma once
#include <map>
#include <string>

#include "ir/graph.h"
#include "runtime/engine/engine_file.h"

namespace kiln {

// True when every input already has exactly these dims (nothing to specialize).
bool matches_static_inputs(const Graph& g, const std::map<std::string, Dims>& input_dims);

// A copy of g specialized for input_dims (kInvalidArgument for unknown inputs, wrong ranks,
// dims that contradict known ones, dims outside a profile). `what` names the model in errors.
Graph specialize(const Graph& g, const std::map<std::string, Dims>& input_dims, const EngineBuild& build,
                 const std::string& what);

}  // namespace kiln
