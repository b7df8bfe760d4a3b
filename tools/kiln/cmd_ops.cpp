// kiln ops [--json]: the ops kiln supports, from the registry itself.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "ops/registry.h"

namespace kiln::cli {

Action add_ops_command(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("ops", "List the ONNX ops kiln supports");
  cmd->footer("Example:\n  kiln ops --json");
  cmd->add_flag("--json", *json, "Print JSON");
  return [json] {
    nlohmann::json list = nlohmann::json::array();
    for (const OpSchema* s : OpRegistry::instance().all())
      list.push_back(s->domain.empty() ? s->name : s->domain + "." + s->name);
    if (*json) {
      std::cout << list.dump(2) << "\n";
    } else {
      for (const auto& name : list) std::cout << name.get<std::string>() << "\n";
    }
    return 0;
  };
}

}  // namespace kiln::cli
