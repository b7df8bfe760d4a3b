// Shared pieces of the kiln CLI: the subcommand interface and argument parsers.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <string>

#include "ir/tensor.h"

namespace kiln::cli {

// A subcommand registers its options on `app` and returns the action to run when chosen.
// The action returns the process exit code; it throws kiln::Error for failures.
using Action = std::function<int()>;
Action add_build_command(CLI::App& app);
Action add_run_command(CLI::App& app);
Action add_inspect_command(CLI::App& app);
Action add_conformance_command(CLI::App& app);
Action add_ops_command(CLI::App& app);
Action add_bench_command(CLI::App& app);
Action add_profile_command(CLI::App& app);
Action add_compare_command(CLI::App& app);

// Adds the repeatable --plugin PATH.so option to cmd; the returned action loads those op
// libraries into the registry (docs/PLUGINS.md), then runs `action`.
Action with_plugins(CLI::App* cmd, Action action);

// "1x3x512x512" → dims; "scalar" or "" → rank 0. Throws kInvalidArgument naming the flag.
Dims parse_dims(const std::string& text, const std::string& flag);
// "NAME=VALUE" → {NAME, VALUE}.
std::pair<std::string, std::string> split_assignment(const std::string& arg, const std::string& flag);
// Repeated --shape NAME=DIMS flags → map.
std::map<std::string, Dims> parse_shapes(const std::vector<std::string>& args);

// Prints `kiln: warning: MESSAGE` as one line on stderr (line breaks in names become spaces,
// as main does for errors).
void warn(const std::string& message);

// A file name for a tensor named `name`: characters outside [A-Za-z0-9._-] become '_'.
std::string file_name_for(const std::string& name);

}  // namespace kiln::cli
