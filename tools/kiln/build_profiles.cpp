#include "build_profiles.h"

#include <algorithm>
#include <map>

#include "cli.h"

namespace kiln::cli {

std::vector<InputProfile> parse_profiles(const std::vector<std::string>& min, const std::vector<std::string>& opt,
                                         const std::vector<std::string>& max) {
  std::map<std::string, Dims> lo = parse_shapes(min), mid = parse_shapes(opt), hi = parse_shapes(max);
  std::vector<InputProfile> out;
  for (const auto* m : {&lo, &mid, &hi})
    for (const auto& [name, dims] : *m)
      if (!lo.count(name) || !mid.count(name) || !hi.count(name))
        fail(ErrorCode::kInvalidArgument, "input '" + name + "' needs all three of --min, --opt and --max");
  for (const auto& [name, a] : lo) {
    const Dims &b = mid[name], &c = hi[name];
    if (a.size() != b.size() || b.size() != c.size())
      fail(ErrorCode::kInvalidArgument, "--min/--opt/--max for '" + name + "' have different ranks");
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i] < 1 || a[i] > b[i] || b[i] > c[i])
        fail(ErrorCode::kInvalidArgument, "profile of '" + name + "': need 1 <= min <= opt <= max on every axis, got min " +
                                              dims_to_string(a) + ", opt " + dims_to_string(b) + ", max " +
                                              dims_to_string(c));
    out.push_back({name, a, b, c});
  }
  return out;
}

void check_profiles_against(const std::vector<InputProfile>& profiles, const Graph& g) {
  for (const auto& p : profiles) {
    if (std::find(g.inputs.begin(), g.inputs.end(), p.name) == g.inputs.end())
      fail(ErrorCode::kInvalidArgument, "the model has no input named '" + p.name + "'");
    const ValueType& t = g.value(p.name).type;
    if (!t.shape) continue;
    if (t.shape->size() != p.min.size())
      fail(ErrorCode::kInvalidArgument, "input '" + p.name + "' has shape " + t.to_string() + "; its profile has rank " +
                                            std::to_string(p.min.size()));
    for (size_t i = 0; i < p.min.size(); ++i) {
      const Dim& d = (*t.shape)[i];
      if (d.known() && (p.min[i] != d.value || p.max[i] != d.value))
        fail(ErrorCode::kInvalidArgument, "input '" + p.name + "' has a fixed dim " + std::to_string(d.value) +
                                              " on axis " + std::to_string(i) + " (shape " + t.to_string() +
                                              "); export the model with a dynamic axis there, or keep it fixed in the profile");
    }
  }
}

}  // namespace kiln::cli
