// kiln: compile, run, inspect and check ONNX vision-transformer models.
// Exit codes: 0 success, 2 user error (bad file, flag, shape, unsupported op), 1 internal error;
// `kiln compare` exits 3 when the models disagree beyond its tolerance.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "cli.h"
#include "kiln/status.h"

namespace {

// One line on stderr, whatever the message holds.
int report(const std::string& message, int code) {
  std::string line = message;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::fprintf(stderr, "kiln: error: %s\n", line.c_str());
  return code;
}

// libgomp reads OMP_WAIT_POLICY when it loads, before main. Its default spins idle threads
// between parallel regions, which starves the other threads (and everything else) whenever
// cores are shared; the reference backend's regions are coarse, so sleeping costs nothing
// measurable. Set the policy and re-execute once, unless the user chose one.
void prefer_passive_openmp_threads(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY")) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

}  // namespace

int main(int argc, char** argv) {
  prefer_passive_openmp_threads(argv);
  CLI::App app{"kiln: compiles ONNX vision transformers into fast engines, runs and checks them"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", std::string("kiln ") + KILN_VERSION);
  std::vector<std::pair<CLI::App*, kiln::cli::Action>> commands;
  auto add = [&](kiln::cli::Action (*adder)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    kiln::cli::Action action = adder(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(action));
  };
  add(kiln::cli::add_build_command);
  add(kiln::cli::add_run_command);
  add(kiln::cli::add_inspect_command);
  add(kiln::cli::add_conformance_command);
  add(kiln::cli::add_ops_command);
  add(kiln::cli::add_bench_command);
  add(kiln::cli::add_profile_command);
  add(kiln::cli::add_compare_command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report(std::string(e.what()) + " (see kiln --help)", 2);
  }
  try {
    for (auto& [sub, action] : commands)
      if (sub->parsed()) return action();
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const kiln::Error& e) {
    return report(e.what(), kiln::is_user_error(e.code()) ? 2 : 1);
  } catch (const std::bad_alloc&) {
    return report("out of memory", 1);
  } catch (const std::exception& e) {
    return report(std::string("internal error: ") + e.what(), 1);
  }
}
