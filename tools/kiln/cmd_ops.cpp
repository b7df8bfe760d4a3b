// kiln ops [--device cpu|cuda] [--json]: the ops kiln supports, from the registry itself;
// --device cuda lists those with a CUDA kernel (in builds with the CUDA backend).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "ops/registry.h"

namespace kiln::cli {

Action add_ops_command(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto device = std::make_shared<std::string>("cpu");
  CLI::App* cmd = app.add_subcommand("ops", "List the ONNX ops kiln supports");
  cmd->footer("Example:\n  kiln ops --json");
  cmd->add_flag("--json", *json, "Print JSON");
  cmd->add_option("--device", *device, "cpu (every op, default) or cuda (ops with a CUDA kernel)");
  return [json, device] {
    if (*device != "cpu" && *device != "cuda")
      fail(ErrorCode::kInvalidArgument, "--device " + *device + ": expected cpu or cuda");
#ifndef KILN_WITH_CUDA
    if (*device == "cuda")
      fail(ErrorCode::kInvalidArgument, "--device cuda: this kiln build has no CUDA backend (use --device cpu)");
#endif
    nlohmann::json list = nlohmann::json::array();
    for (const OpSchema* s : OpRegistry::instance().all())
      if (*device == "cpu" || s->cuda) list.push_back(s->domain.empty() ? s->name : s->domain + "." + s->name);
    if (*json) {
      std::cout << list.dump(2) << "\n";
    } else {
      for (const auto& name : list) std::cout << name.get<std::string>() << "\n";
    }
    return 0;
  };
}

}  // namespace kiln::cli
