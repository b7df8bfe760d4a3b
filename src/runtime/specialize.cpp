#include "runtime/specialize.h"

#include <algorithm>

#include "passes/pipeline.h"

namespace kiln {

namespace {
constexpr const char* kFuseElementwise = "fuse_elementwise";
}

PassReport optimize_for_engine(Graph& g, EngineBuild& build, PrecisionReport* precision, bool fp16_later) {
  const bool fp16 = build.precision == "fp16";
  // fp16: elementwise chains are fused on the converted graph (fuse_elementwise.h says why).
  std::set<std::string> skip = build.disabled_passes;
  if (fp16 || fp16_later) skip.insert(kFuseElementwise);
  PassReport passes = run_passes(g, skip, /*record_rewrites=*/true);
  build.rewrites = passes.rewrites;
  if (fp16) {
    PrecisionReport r = to_fp16_storage(g, build, passes);
    if (precision) *precision = r;
  }
  return passes;
}

PrecisionReport to_fp16_storage(Graph& g, EngineBuild& build, PassReport& passes) {
  PrecisionReport r = convert_to_fp16(g);
  if (!build.disabled_passes.count(kFuseElementwise)) run_pass(g, kFuseElementwise, passes, /*record_rewrites=*/true);
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

Graph specialize(const Graph& g, const std::map<std::string, Dims>& input_dims, const EngineBuild& build,
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
  run_passes(s, build.disabled_passes);
  return s;
}

}  // namespace kiln
