// kiln conformance DIR [--filter S] [--json]
// Runs ONNX backend test cases (DIR/<case>/model.onnx + test_data_set_*/{input,output}_*.pb)
// and compares with the ONNX defaults: |got - want| <= 1e-7 + 1e-3 * |want|.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "io/progress.h"
#include "onnx/importer.h"
#include "onnx/tensor_proto.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln::cli {
namespace fs = std::filesystem;
namespace {

constexpr double kRtol = 1e-3, kAtol = 1e-7;

struct ConformanceOptions {
  std::string dir;
  std::string filter;
  bool json = false;
  bool verbose = false;
  int expect_passed = 0;  // CI's floor: fewer passing cases is a failure
};

struct CaseResult {
  std::string name, status, detail;
};

std::vector<fs::path> sorted_matches(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
  // input_10 after input_9: order by the number after the prefix.
  auto index = [&](const fs::path& p) {
    std::string s = p.stem().string().substr(prefix.size());
    return s.empty() ? 0 : std::atoi(s.c_str());
  };
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) { return index(a) < index(b); });
  return out;
}

// Empty when equal under the tolerance, else what differs.
std::string compare(const Tensor& got, const Tensor& want) {
  if (got.dtype() != want.dtype())
    return std::string("dtype ") + dtype_name(got.dtype()) + " != " + dtype_name(want.dtype());
  if (got.dims() != want.dims())
    return "shape " + dims_to_string(got.dims()) + " != " + dims_to_string(want.dims());
  for (int64_t i = 0; i < got.numel(); ++i) {
    double g = got.at_double(i), w = want.at_double(i);
    bool ok = std::isnan(w) ? std::isnan(g)
              : std::isinf(w) ? g == w
                              : std::abs(g - w) <= kAtol + kRtol * std::abs(w);
    if (!ok)
      return "element " + std::to_string(i) + ": got " + std::to_string(g) + ", want " +
             std::to_string(w);
  }
  return "";
}

CaseResult run_case(const fs::path& case_dir) {
  CaseResult r{case_dir.filename().string(), "passed", ""};
  try {
    std::vector<fs::path> sets = sorted_matches(case_dir, "test_data_set_");
    if (sets.empty()) fail(ErrorCode::kInvalidArgument, "no test_data_set_* directory");
    std::string model = (case_dir / "model.onnx").string();
    Graph proto_graph = import_onnx_file(model);  // ops/opset support decided here
    for (const auto& set : sets) {
      std::vector<fs::path> ins = sorted_matches(set, "input_"), outs = sorted_matches(set, "output_");
      if (ins.size() > proto_graph.inputs.size())
        fail(ErrorCode::kInvalidArgument, "more input files than model inputs");
      TensorMap feeds;
      ImportOptions import;
      for (size_t i = 0; i < ins.size(); ++i) {
        Tensor t = read_tensor_pb(ins[i].string());
        import.input_shapes[proto_graph.inputs[i]] = t.dims();
        feeds[proto_graph.inputs[i]] = t;
      }
      Graph g = import_onnx_file(model, import);
      check_inputs(g, feeds);
      run_passes(g);
      TensorMap got = CpuExecutor(g).run(feeds);
      if (outs.size() != g.outputs.size())
        fail(ErrorCode::kInvalidArgument, "expected " + std::to_string(outs.size()) + " outputs");
      for (size_t i = 0; i < outs.size(); ++i) {
        std::string diff = compare(got.at(g.outputs[i]), read_tensor_pb(outs[i].string()));
        if (!diff.empty()) {
          r.status = "failed";
          r.detail = set.filename().string() + " output '" + g.outputs[i] + "': " + diff;
          return r;
        }
      }
    }
  } catch (const Error& e) {
    r.status = e.code() == ErrorCode::kUnsupported ? "unsupported" : "failed";
    r.detail = e.what();
  } catch (const std::exception& e) {
    r.status = "failed";
    r.detail = std::string("exception: ") + e.what();
  }
  return r;
}

int conformance(const ConformanceOptions& o) {
  if (!fs::is_directory(o.dir)) fail(ErrorCode::kNotFound, "directory not found: " + o.dir);
  std::vector<fs::path> cases;
  if (fs::exists(fs::path(o.dir) / "model.onnx")) {
    cases.push_back(o.dir);
  } else {
    for (const auto& e : fs::directory_iterator(o.dir))
      if (fs::exists(e.path() / "model.onnx") &&
          e.path().filename().string().find(o.filter) != std::string::npos)
        cases.push_back(e.path());
    std::sort(cases.begin(), cases.end());
  }
  if (cases.empty()) fail(ErrorCode::kNotFound, "no test cases (DIR/<case>/model.onnx) under " + o.dir);

  std::map<std::string, int> counts{{"passed", 0}, {"failed", 0}, {"unsupported", 0}};
  nlohmann::json list = nlohmann::json::array();
  Progress bar("conformance", int64_t(cases.size()), std::chrono::milliseconds(500));
  for (const auto& c : cases) {
    CaseResult r = run_case(c);
    ++counts[r.status];
    list.push_back({{"name", r.name}, {"status", r.status}, {"detail", r.detail}});
    if (!o.json && (r.status == "failed" || o.verbose)) {
      bar.clear();
      std::printf("%-11s %-60s %s\n", r.status.c_str(), r.name.c_str(), r.detail.c_str());
      std::fflush(stdout);
    }
    bar.advance();
  }
  bar.clear();
  if (o.json) {
    nlohmann::json j = {{"passed", counts["passed"]}, {"failed", counts["failed"]},
                        {"unsupported", counts["unsupported"]}, {"cases", list}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::printf("\n%-12s %6s\n%-12s %6d\n%-12s %6d\n%-12s %6d\n%-12s %6zu\n", "status", "cases",
                "passed", counts["passed"], "failed", counts["failed"], "unsupported",
                counts["unsupported"], "total", cases.size());
  }
  if (counts["passed"] < o.expect_passed) {
    std::fprintf(stderr, "kiln: conformance: %d passed, fewer than the expected %d\n", counts["passed"],
                 o.expect_passed);
    return 1;
  }
  return counts["failed"] ? 1 : 0;
}

}  // namespace

Action add_conformance_command(CLI::App& app) {
  auto o = std::make_shared<ConformanceOptions>();
  CLI::App* cmd = app.add_subcommand("conformance", "Run ONNX backend test cases and report results");
  cmd->footer("Example:\n  kiln conformance /usr/share/libonnx-testdata/data/node --filter conv --verbose");
  cmd->add_option("dir", o->dir, "Directory of cases, or one case directory")->required();
  cmd->add_option("--filter", o->filter, "Only cases whose name contains this");
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->add_flag("--verbose,-v", o->verbose, "Print every case, not only failures");
  cmd->add_option("--expect-passed", o->expect_passed, "Exit 1 unless at least this many pass");
  return with_plugins(cmd, [o] { return conformance(*o); });
}

}  // namespace kiln::cli
