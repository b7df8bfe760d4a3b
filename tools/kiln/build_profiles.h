// --min/--opt/--max NAME=DIMS for `kiln build`: one shape profile per input, checked (all three
// given, same rank, min <= opt <= max) before any work.
#pragma once
#include <string>
#include <vector>

#include "runtime/engine/engine_file.h"

namespace kiln::cli {

std::vector<InputProfile> parse_profiles(const std::vector<std::string>& min, const std::vector<std::string>& opt,
                                         const std::vector<std::string>& max);

// Checks each profile against the model's declared input type: a dim that is fixed in the model
// must equal min = opt = max on that axis; the rank must match.
void check_profiles_against(const std::vector<InputProfile>& profiles, const Graph& g);

}  // namespace kiln::cli
