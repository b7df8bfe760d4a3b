#include "cli.h"

#include <cstdio>

#include "kiln/status.h"
#include "ops/plugin/plugin_ops.h"

namespace kiln::cli {

Action with_plugins(CLI::App* cmd, Action action) {
  auto paths = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--plugin", *paths, "PATH.so: a custom-op library to load first (repeatable; docs/PLUGINS.md)")
      ->allow_extra_args(false);  // one path per --plugin: never swallow the model argument
  return [paths, action = std::move(action)] {
    load_plugins(*paths);
    return action();
  };
}

Dims parse_dims(const std::string& text, const std::string& flag) {
  Dims dims;
  if (text.empty() || text == "scalar") return dims;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t x = text.find('x', pos);
    std::string part = text.substr(pos, x == std::string::npos ? std::string::npos : x - pos);
    if (part.empty() || part.size() > 12 || part.find_first_not_of("0123456789") != std::string::npos)
      fail(ErrorCode::kInvalidArgument, flag + ": '" + text +
                                            "' is not a shape; write dimensions like 1x3x512x512");
    dims.push_back(std::stoll(part));
    if (x == std::string::npos) break;
    pos = x + 1;
  }
  return dims;
}

std::pair<std::string, std::string> split_assignment(const std::string& arg, const std::string& flag) {
  size_t eq = arg.rfind('=');
  if (eq == std::string::npos || eq == 0)
    fail(ErrorCode::kInvalidArgument, flag + " expects NAME=VALUE, got '" + arg + "'");
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

std::map<std::string, Dims> parse_shapes(const std::vector<std::string>& args) {
  std::map<std::string, Dims> shapes;
  for (const auto& a : args) {
    auto [name, value] = split_assignment(a, "--shape");
    shapes[name] = parse_dims(value, "--shape " + name);
  }
  return shapes;
}

void warn(const std::string& message) {
  std::string line = message;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::fprintf(stderr, "kiln: warning: %s\n", line.c_str());
}

std::string file_name_for(const std::string& name) {
  std::string out = name;
  for (char& c : out)
    if (!std::isalnum(uint8_t(c)) && c != '.' && c != '_' && c != '-') c = '_';
  if (out.empty() || out[0] == '.') out = "_" + out;
  return out;
}

}  // namespace kiln::cli
