// The pass pipeline as engines use it. optimize_for_engine makes the graph an engine stores;
// specialize makes an engine or model graph concrete for one set of input dims: the dims are
// checked against the graph's inputs (and the engine's shape profiles), written into the input
// types, and the pipeline re-infers and folds every shape computation for them. Both leave out
// the build's disabled passes.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/engine/engine_file.h"

namespace kiln {

// What `kiln build` and kiln.build do to an imported graph: the passes without
// build.disabled_passes (their rewrites recorded in build.rewrites), then fp16 storage when
// build.precision is fp16 (what it did goes to *precision when given). A converts_per_shape
// graph is left as imported instead, and the record is that of specializing it for the
// profiles' opt shapes: specialize runs each shape through what a static build of it runs.
// fp16_later: an INT8 build with fp16 storage (`--int8 --fp16`) quantizes the float32 graph
// first, so the conversion (and fuse_elementwise, which follows it) is left to to_fp16_storage.
PassReport optimize_for_engine(Graph& g, EngineBuild& build, PrecisionReport* precision = nullptr,
                               bool fp16_later = false);
// fp16 storage (convert_to_fp16), then fuse_elementwise unless disabled, counted in `passes`
// (build.rewrites = its rewrites): optimize_for_engine's last step for fp16 engines.
PrecisionReport to_fp16_storage(Graph& g, EngineBuild& build, PassReport& passes);

// The rewrite passes whose node has only a Hopper kernel (warpgroup MMAs, TMA):
// fuse_attention_block, fuse_sequence_reduction. A build for another GPU leaves them out rather than make a node its
// engine could not run.
const std::set<std::string>& hopper_only_pass_names();
// Adds to build.disabled_passes the passes `target` cannot run (hopper_only_pass_names on a CUDA
// GPU other than sm_90) that are not already there; returns those it added, for the build report.
std::vector<std::string> disable_passes_for_target(EngineBuild& build, const EngineTarget& target);

// True for an fp16 build of a graph with symbolic inputs: optimize_for_engine leaves it as
// imported and specialize optimizes and converts each shape.
bool converts_per_shape(const Graph& g, const EngineBuild& build);

// What specialize does to a converts_per_shape engine's graph once its input dims are written:
// the passes, the fp16 conversion, fuse_elementwise. For callers that write the dims themselves.
void optimize_specialized(Graph& g, const EngineBuild& build);

// True when every input already has exactly these dims (nothing to specialize).
bool matches_static_inputs(const Graph& g, const std::map<std::string, Dims>& input_dims);

// A copy of g specialized for input_dims (kInvalidArgument for unknown inputs, wrong ranks,
// dims that contradict known ones, dims outside a profile). `what` names the model in errors.
Graph specialize(const Graph& g, const std::map<std::string, Dims>& input_dims, const EngineBuild& build,
                 const std::string& what);

}  // namespace kiln
