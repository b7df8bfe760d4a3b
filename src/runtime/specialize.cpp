#include "runtime/specialize.h"

#include <algorithm>

#include "passes/pipeline.h"
#include "runtime/cuda/gpu_arch.h"

namespace kiln {

namespace {

bool inputs_static(const Graph& g) {
  for (const auto& name : g.inputs) {
    const ValueType& t = g.value(name).type;
    if (!t.shape || !shape_known(*t.shape)) return false;
  }
  return true;
}

// The passes fp16 engines run on the converted graph (after_fp16_pass_names), unless disabled.
void run_after_fp16(Graph& g, const EngineBuild& build, PassReport& passes, bool record) {
  for (const std::string& name : after_fp16_pass_names())
    if (!build.disabled_passes.count(name)) run_pass(g, name, passes, record);
}

// The pipeline less the passes that wait for float16 storage.
PassReport pipeline_before_fp16(Graph& g, const EngineBuild& build, bool fp16, bool record) {
  std::set<std::string> skip = build.disabled_passes;
  if (fp16) skip.insert(after_fp16_pass_names().begin(), after_fp16_pass_names().end());
  return run_passes(g, skip, record);
}

// The pipeline, then for fp16 the conversion and the passes that follow it, so they see the
// final storage types.
PassReport passes_and_precision(Graph& g, const EngineBuild& build, bool convert, bool record,
                                PrecisionReport* precision) {
  PassReport passes = pipeline_before_fp16(g, build, build.precision == "fp16", record);
  if (convert) {
    PrecisionReport r = convert_to_fp16(g);
    if (precision) *precision = r;
    run_after_fp16(g, build, passes, record);
  }
  return passes;
}

// g with these input dims written into its input types, checked against g and the profiles.
Graph with_input_dims(const Graph& g, const std::map<std::string, Dims>& input_dims, const EngineBuild& build,
                      const std::string& what) {
  Graph s = g;
  for (const auto& [name, dims] : input_dims) {
    if (std::find(s.inputs.begin(), s.inputs.end(), name) == s.inputs.end())
      fail(ErrorCode::kInvalidArgument, what + " has no input named '" + name + "'");
    ValueType& t = s.value(name).type;
    bool fits = !t.shape || t.shape->size() == dims.size();
    for (size_t i = 0; fits && t.shape && i < dims.size(); ++i)
      fits = !(*t.shape)[i].known() || (*t.shape)[i].value == dims[i];
    if (!fits)
      fail(ErrorCode::kInvalidArgument, "input '" + name + "' has shape " + t.to_string() + " in " + what + ", got " +
                                            dims_to_string(dims) + "; rebuild it for this shape (kiln build --shape/--min/--max)");
    check_profile(build, name, dims, what);
    t.shape = shape_of(dims);
  }
  return s;
}

}  // namespace

const std::set<std::string>& hopper_only_pass_names() {
  static const std::set<std::string> names = {"fuse_attention_block", "fuse_sequence_reduction", "fuse_token_conv",
                                              "fuse_mix_ffn_norm", "fuse_dwconv_matmul"};
  return names;
}

std::vector<std::string> disable_passes_for_target(EngineBuild& build, const EngineTarget& target) {
  std::vector<std::string> added;
  if (target.device != "cuda" || is_hopper_arch(target.arch)) return added;
  for (const std::string& name : hopper_only_pass_names())
    if (build.disabled_passes.insert(name).second) added.push_back(name);
  return added;
}

bool converts_per_shape(const Graph& g, const EngineBuild& build) {
  return build.precision == "fp16" && !inputs_static(g);
}

PassReport optimize_for_engine(Graph& g, EngineBuild& build, PrecisionReport* precision, bool fp16_later) {
  if (converts_per_shape(g, build)) {
    // Stored as imported: on a symbolic graph only some passes match (many need static shapes),
    // and what they leave changes what the rest can take once the shape is known. specialize
    // runs each shape through what a static fp16 build of it runs. The record (rewrites,
    // conversion) is that of the profiles' opt shape when every input has one.
    std::map<std::string, Dims> opt;
    for (const auto& p : build.profiles) opt[p.name] = p.opt;
    PassReport passes;
    passes.nodes_before = int(g.nodes.size());
    if (opt.size() == g.inputs.size()) {
      Graph s = with_input_dims(g, opt, build, "the model");
      passes = passes_and_precision(s, build, /*convert=*/true, /*record=*/true, precision);
    }
    build.rewrites = passes.rewrites;
    return passes;
  }
  PassReport passes = pipeline_before_fp16(g, build, build.precision == "fp16" || fp16_later, /*record=*/true);
  build.rewrites = passes.rewrites;
  if (build.precision == "fp16") {
    PrecisionReport r = to_fp16_storage(g, build, passes);
    if (precision) *precision = r;
  }
  return passes;
}

PrecisionReport to_fp16_storage(Graph& g, EngineBuild& build, PassReport& passes) {
  PrecisionReport r = convert_to_fp16(g);
  run_after_fp16(g, build, passes, /*record=*/true);
  build.rewrites = passes.rewrites;
  return r;
}

bool matches_static_inputs(const Graph& g, const std::map<std::string, Dims>& input_dims) {
  if (input_dims.size() != g.inputs.size()) return false;
  for (const auto& name : g.inputs) {
    auto it = input_dims.find(name);
    const ValueType& t = g.value(name).type;
    if (it == input_dims.end() || !t.shape || !shape_known(*t.shape) || shape_dims(*t.shape) != it->second)
      return false;
  }
  return true;
}

void optimize_specialized(Graph& g, const EngineBuild& build) {
  passes_and_precision(g, build, build.precision == "fp16", /*record=*/false, nullptr);
}

Graph specialize(const Graph& g, const std::map<std::string, Dims>& input_dims, const EngineBuild& build,
                 const std::string& what) {
  Graph s = with_input_dims(g, input_dims, build, what);
  if (converts_per_shape(g, build))
    optimize_specialized(s, build);
  else
    run_passes(s, build.disabled_passes);
  return s;
}

}  // namespace kiln
