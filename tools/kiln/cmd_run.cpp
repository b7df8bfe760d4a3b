// kiln run MODEL.onnx|ENGINE.kiln --input NAME=FILE.npy|random ... [--shape NAME=DIMS] [--output DIR]
//          [--check-finite]
// kiln run MODEL.onnx --image PICTURE --task matte|semantic|panoptic|detect [--output DIR]
// Runs the model on the CPU reference backend or (--device cuda) the CUDA backend and writes
// one <output>.npy per graph output (CUDA inputs and outputs are host copies); with a task,
// only the task's output, and the pictures made from it (picture_task.h). With --device cuda,
// detect, Mask2Former's semantic and panoptic post-process on the GPU from the outputs where the
// model left them (task_post.h).
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "input_feeds.h"
#include "io/file_util.h"
#include "io/finite_check.h"
#include "io/npy.h"
#include "io/progress.h"
#include "model_source.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "picture_task.h"
#include "runtime/cpu_executor.h"
#ifdef KILN_WITH_CUDA
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/cuda_session.h"
#include "runtime/cuda/post/detection_post_cuda.h"
#include "runtime/cuda/post/mask2former_post_cuda.h"
#endif

namespace kiln::cli {
namespace {

struct RunOptions {
  std::string model;
  std::vector<std::string> inputs;
  std::vector<std::string> shapes;
  std::string output_dir = ".";
  std::string device;  // empty: the engine's device, else cpu
  int64_t seed = -1;
  bool json = false;
  bool tf32 = false;
  bool no_cuda_graph = false;
  std::string image;  // a picture fed to the model's single image input
  std::string task;   // what to draw from the outputs (picture_task.h)
  std::string palette = "auto";
  std::vector<float> mean, std;
  bool save_input = false;
  PanopticOptions panoptic;
  std::vector<int> fuse_labels;
  bool panoptic_flags = false;  // one of --mask-threshold, --overlap-threshold, --fuse-labels
  bool score_flag = false;      // --score-threshold (panoptic, detect)
  int64_t top_k = 100;          // detect
  bool top_k_flag = false;
  bool check_finite = false;
  std::vector<std::string> disabled_passes;  // ONNX models only: an engine brings its own
};

// "3 NaN/Inf values (first at index 17)"
std::string describe(const NonFinite& bad) {
  return std::to_string(bad.count) + " NaN/Inf value" + (bad.count == 1 ? "" : "s") + " (first at index " +
         std::to_string(bad.first) + ")";
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

#ifdef KILN_WITH_CUDA
// The GPU versions of the task's post-processing, reading `outputs` (views of exec's arena,
// valid while exec lives and runs nothing else).
TaskPostProcessing gpu_post_processing(const PictureTask& task, CudaExecutor& exec, const DeviceTensorMap& outputs) {
  TaskPostProcessing post;
  post.device = "cuda";
  if (task.task == "detect") {
    const DeviceTensor& logits = outputs.at(task.detect.logits_output);
    const DeviceTensor& boxes = outputs.at(task.detect.boxes_output);
    post.detections = [&exec, logits, boxes](const std::vector<BoxScale>& scales, int64_t k) {
      return top_detections_cuda(logits, boxes, scales, k, exec.session().stream());
    };
  } else if (!task.class_output.empty()) {
    const DeviceTensor& classes = outputs.at(task.class_output);
    const DeviceTensor& masks = outputs.at(task.mask_output);
    post.semantic = [&exec, classes, masks](const Mask2FormerSize& size) {
      return mask2former_semantic_cuda(exec.session(), classes, masks, size);
    };
    post.panoptic = [&exec, classes, masks](const PanopticOptions& options, const Mask2FormerSize& size) {
      return mask2former_panoptic_cuda(exec.session(), classes, masks, options, size);
    };
  }
  return post;
}
#endif

int run(RunOptions o) {
  o.device = resolve_device(o.model, o.device);
  if (o.tf32 && o.device != "cuda") fail(ErrorCode::kInvalidArgument, "--tf32 needs --device cuda");
  if (o.no_cuda_graph && o.device != "cuda") fail(ErrorCode::kInvalidArgument, "--no-cuda-graph needs --device cuda");
  auto t0 = std::chrono::steady_clock::now();
  InputFeeds parsed = parse_input_feeds(o.inputs, o.shapes);
  ImportOptions& import = parsed.import;
  TensorMap& feeds = parsed.feeds;
  const std::vector<std::string>& random_names = parsed.random;

  if (!o.task.empty()) parse_palette(o.palette);  // a bad --palette fails before the long work
  if (o.panoptic_flags && o.task != "panoptic")
    fail(ErrorCode::kInvalidArgument, "--mask-threshold, --overlap-threshold and --fuse-labels need --task panoptic");
  if (o.score_flag && o.task != "panoptic" && o.task != "detect")
    fail(ErrorCode::kInvalidArgument, "--score-threshold needs --task panoptic or --task detect");
  if (o.top_k_flag && o.task != "detect") fail(ErrorCode::kInvalidArgument, "--top-k needs --task detect");
  if (o.top_k < 1) fail(ErrorCode::kInvalidArgument, "--top-k must be at least 1, got " + std::to_string(o.top_k));
  o.panoptic.fuse_labels.insert(o.fuse_labels.begin(), o.fuse_labels.end());
  check_panoptic_options(o.panoptic);
  PictureTask picture{o.image, o.task, o.palette, o.mean, o.std, {}, {}, o.panoptic, {}, {}, {}};
  picture.detect.top_k = o.top_k;
  picture.detect.draw_threshold = float(o.panoptic.score_threshold);
  if (o.save_input && o.image.empty()) fail(ErrorCode::kInvalidArgument, "--save-input needs --image");
  // Only an engine is checked against this machine's target (an ONNX model builds for any).
  EngineTarget target = is_engine_file(o.model) ? local_target(o.device) : EngineTarget{o.device, ""};
  ModelSource source;
  auto reopen = [&](const ImportOptions& options) { return open_model(o.model, options, &target, &source); };
  Graph g = reopen(import);
  if (!o.image.empty()) feed_picture(picture, g, import, reopen, feeds);
  select_task_output(picture, g);
  const uint64_t seed = seed_from_flag(o.seed);
  fill_random_inputs(g, random_names, seed, feeds);
  check_inputs(g, feeds);
  if (o.check_finite)
    for (const auto& name : g.inputs) {
      NonFinite bad = find_non_finite(feeds.at(name));
      if (bad.count)
        fail(ErrorCode::kInvalidArgument, "input '" + name + "' holds " + describe(bad) +
                                              "; clean the input or drop --check-finite");
    }
  if (source.engine && !o.disabled_passes.empty())
    fail(ErrorCode::kInvalidArgument, "--disable-pass applies to ONNX models; the engine " + o.model +
                                          " keeps the passes it was built with (rebuild it with kiln build --disable-pass)");
  std::set<std::string> skip(o.disabled_passes.begin(), o.disabled_passes.end());
  if (source.engine) skip = source.build.disabled_passes;
  PassReport passes = run_passes(g, skip);
  double prepare_ms = ms_since(t0);

  auto t1 = std::chrono::steady_clock::now();
  TensorMap outputs;
  std::map<std::string, double> op_ms;  // wall time per op type (cpu)
  double setup_ms = 0;
#ifdef KILN_WITH_CUDA
  // Declared before `post`, so destroyed after it: the GPU post-processing holds views of exec's
  // arena, which are freed on exec's stream.
  std::unique_ptr<CudaExecutor> exec;
  DeviceTensorMap device_outputs;
#endif
  TaskPostProcessing post;  // the CPU's unless the GPU runs it below
#ifdef KILN_WITH_CUDA
  if (o.device == "cuda") {
    // An engine brings its precision and kernel choices; an ONNX model runs in fp32 (or --tf32).
    EngineBuild build = source.build;
    build.disabled_passes = skip;
    if (o.tf32) build.precision = "tf32";
    CudaRunOptions run_options;
    run_options.cuda_graph = !o.no_cuda_graph;
    exec = std::make_unique<CudaExecutor>(std::make_shared<CudaModel>(g, build), run_options);
    setup_ms = ms_since(t1);
    t1 = std::chrono::steady_clock::now();
    const CudaStream stream = exec->session().stream();
    DeviceTensorMap device_inputs;
    for (const auto& [name, t] : feeds) device_inputs[name] = to_device(t, stream);
    device_outputs = exec->run_device(device_inputs);
    // Host copies for the .npy files; post-processing reads the device outputs.
    for (const auto& [name, t] : device_outputs) outputs[name] = to_host(t, stream);
    if (!o.task.empty()) post = gpu_post_processing(picture, *exec, device_outputs);
  }
#endif
  if (o.device == "cpu") {
    CpuExecutor exec(g);
    Progress bar("run", int64_t(g.nodes.size()), std::chrono::milliseconds(1000));
    auto last = std::chrono::steady_clock::now();
    outputs = exec.run(feeds, [&](size_t done, size_t) {
      op_ms[g.nodes[done - 1].op_type] += ms_since(last);
      last = std::chrono::steady_clock::now();
      bar.set(int64_t(done));
    });
  }
  double run_ms = ms_since(t1);
  if (!o.task.empty()) check_task_output(picture, g, feeds, outputs);

  // Nothing is written until everything succeeded; each file lands atomically.
  std::filesystem::create_directories(o.output_dir);
  nlohmann::json report = {{"model", o.model}, {"device", o.device}, {"outputs", nlohmann::json::array()}};
  std::vector<std::string> warnings;  // printed once everything is written, so errors stay one line
  for (const auto& name : g.outputs) {
    const Tensor& t = outputs.at(name);
    std::string path = (std::filesystem::path(o.output_dir) / (file_name_for(name) + ".npy")).string();
    write_npy(path, t);
    report["outputs"].push_back({{"name", name}, {"file", path}, {"dtype", dtype_name(t.dtype())},
                                 {"shape", t.dims()}});
    if (!o.check_finite) continue;
    NonFinite bad = find_non_finite(t);
    report["outputs"].back()["non_finite"] = {{"count", bad.count}};
    if (!bad.count) continue;
    report["outputs"].back()["non_finite"]["first_index"] = bad.first;
    warnings.push_back("output '" + name + "' holds " + describe(bad));
  }
  if (o.save_input) {
    std::string path = (std::filesystem::path(o.output_dir) / (file_name_for(picture.input_name) + ".npy")).string();
    write_npy(path, feeds.at(picture.input_name));
    report["input_file"] = path;
  }
  write_task_outputs(picture, g, feeds, outputs, o.output_dir, report, post);
  report["nodes"] = {{"imported", passes.nodes_before}, {"executed", passes.nodes_after}};
  report["time_ms"] = {{"prepare", prepare_ms}, {"run", run_ms}, {"by_op", op_ms}};
  if (o.device == "cuda") report["time_ms"]["device_setup"] = setup_ms;
  if (!random_names.empty()) report["seed"] = seed;
  for (const auto& w : warnings) warn(w);
  if (o.json) {
    std::cout << report.dump(2) << "\n";
    return 0;
  }
  for (const auto& out : report["outputs"])
    std::printf("%-32s %-8s %-20s -> %s\n", out["name"].get<std::string>().c_str(),
                out["dtype"].get<std::string>().c_str(),
                dims_to_string(out["shape"].get<Dims>()).c_str(), out["file"].get<std::string>().c_str());
  if (report.contains("pictures"))
    for (const auto& p : report["pictures"]) std::printf("picture -> %s\n", p.get<std::string>().c_str());
  if (report.contains("matte"))
    std::printf("matte: %s, foreground %.1f%% of the picture\n", report["matte"]["values"].get<std::string>().c_str(),
                100 * report["matte"]["foreground_fraction"].get<double>());
  if (report.contains("files"))
    for (const auto& p : report["files"]) std::printf("file -> %s\n", p.get<std::string>().c_str());
  if (report.contains("semantic"))
    std::printf("semantic: %d classes, %zu present, palette %s\n", report["semantic"]["classes"].get<int>(),
                report["semantic"]["present"].size(), report["semantic"]["palette"].get<std::string>().c_str());
  if (report.contains("panoptic"))
    std::printf("panoptic: %zu segments from %d queries (score > %g, overlap > %g)\n",
                report["panoptic"]["segments"].size(), report["panoptic"]["queries"].get<int>(),
                report["panoptic"]["score_threshold"].get<double>(), report["panoptic"]["overlap_threshold"].get<double>());
  if (report.contains("detect")) {
    const auto& d = report["detect"];
    std::printf("detect: top %lld of %lld queries x %lld classes per image (%lld image%s), %d drawn (score >= %g)",
                (long long)d["top_k"].get<int64_t>(), (long long)d["queries"].get<int64_t>(),
                (long long)d["classes"].get<int64_t>(), (long long)d["images"].get<int64_t>(),
                d["images"].get<int64_t>() == 1 ? "" : "s", d["drawn"].get<int>(), d["draw_threshold"].get<double>());
    if (d.contains("best"))
      std::printf("; best: class %d, score %.3f", d["best"]["label"].get<int>(), d["best"]["score"].get<double>());
    std::printf("\n");
  }
  if (report.contains("post_processing"))
    std::printf("post-processing on %s: %.1f ms\n", report["post_processing"]["device"].get<std::string>().c_str(),
                report["post_processing"]["time_ms"].get<double>());
  if (report.contains("seed")) std::printf("random inputs: seed %llu\n", (unsigned long long)report["seed"].get<uint64_t>());
  std::printf("%s: %d nodes (%d in file), prepare %.1f ms, ", o.device.c_str(), passes.nodes_after,
              passes.nodes_before, prepare_ms);
  if (o.device == "cuda") std::printf("device setup %.1f ms, ", setup_ms);
  std::printf("run %.1f ms\n", run_ms);
  if (run_ms > 1000 && !op_ms.empty()) {  // where a long run went
    std::vector<std::pair<double, std::string>> top;
    for (const auto& [op, ms] : op_ms) top.emplace_back(ms, op);
    std::sort(top.rbegin(), top.rend());
    std::printf("time by op:");
    for (size_t i = 0; i < top.size() && i < 5; ++i)
      std::printf(" %s %.0f%%", top[i].second.c_str(), 100 * top[i].first / run_ms);
    std::printf("\n");
  }
  return 0;
}

}  // namespace

Action add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run a model on inputs and write its outputs as .npy");
  cmd->footer(
      "Examples:\n"
      "  kiln run model.onnx --input pixel_values=random --seed 1 -o out/\n"
      "  kiln run isnet.onnx --image photo.png --task matte -o out/     (mask, cut-out, side by side)\n"
      "  kiln run segformer.onnx --image street.jpg --task semantic --palette cityscapes -o out/\n"
      "  kiln run mask2former.onnx --image street.jpg --task panoptic --score-threshold 0.8 -o out/\n"
      "  kiln run anchor_detr.onnx --image street.jpg --task detect --score-threshold 0.3 -o out/");
  cmd->add_option("model", o->model, "Model file (.onnx) or engine file (kiln build)")->required();
  cmd->add_option("--input,-i", o->inputs, "NAME=FILE.npy or NAME=random (repeatable)");
  cmd->add_option("--shape", o->shapes, "NAME=1x3x512x512: dims for a symbolic input (repeatable)");
  cmd->add_option("--output,-o", o->output_dir, "Directory for <output-name>.npy files (default .)");
  cmd->add_option("--device", o->device, "cpu or cuda (builds with the CUDA backend); default: the engine's device, else cpu");
  cmd->add_flag("--tf32", o->tf32, "cuda: let float32 matrix work use TF32 tensor cores");
  cmd->add_flag("--no-cuda-graph", o->no_cuda_graph, "cuda: run node by node instead of replaying a CUDA Graph");
  cmd->add_option("--seed", o->seed, "Seed for random inputs (default: from the clock, printed)");
  cmd->add_option("--disable-pass", o->disabled_passes,
                  "NAME: ONNX models: leave out one rewrite pass, for debugging (repeatable)");
  cmd->add_flag("--json", o->json, "Print a JSON report");
  cmd->add_option("--image", o->image, "A picture (PNG/JPEG/BMP) for the model's image input, "
                                       "resized (bilinear) and normalized (--mean/--std)");
  cmd->add_option("--task", o->task,
                  "matte: single-channel output -> mask, alpha cut-out, side-by-side PNGs; "
                  "semantic: class scores (or Mask2Former's queries) -> label map, overlay, side-by-side PNGs; "
                  "panoptic: Mask2Former's queries -> segment map, overlay, side-by-side PNGs, segments JSON; "
                  "detect: DETR-style sigmoid class logits and boxes -> top-k detections JSON, boxes drawn")
      ->check(CLI::IsMember({"matte", "semantic", "panoptic", "detect"}));
  CLI::Option* top_k = cmd->add_option("--top-k", o->top_k, "detect: detections kept over queries x classes (default 100)");
  cmd->add_option("--palette", o->palette, "semantic colors: auto (19 classes: cityscapes, 150: ade20k), "
                                           "cityscapes, ade20k, hues");
  cmd->add_option("--mean", o->mean, "Per-channel mean on 0..1 values (default: 0.502 for matte "
                                     "as ISNet's runtime feeds it, ImageNet otherwise)")
      ->delimiter(',');
  cmd->add_option("--std", o->std, "Per-channel std on 0..1 values (default: 1.004 for matte, ImageNet otherwise)")
      ->delimiter(',');
  cmd->add_flag("--save-input", o->save_input, "Also write the preprocessed picture tensor as <input>.npy");
  CLI::Option* score = cmd->add_option(
      "--score-threshold", o->panoptic.score_threshold,
      "panoptic: keep queries whose class probability exceeds this (default 0.5, as transformers); "
      "detect: draw the boxes scoring at least this (default 0.5)");
  CLI::Option* flags[] = {
      cmd->add_option("--mask-threshold", o->panoptic.mask_threshold,
                      "panoptic: a pixel is in a query's mask at score x probability >= this (default 0.5)"),
      cmd->add_option("--overlap-threshold", o->panoptic.overlap_threshold,
                      "panoptic: a segment must keep more than this fraction of its mask (default 0.8)"),
      cmd->add_option("--fuse-labels", o->fuse_labels,
                      "panoptic: class ids whose segments merge into one (stuff classes), e.g. 0,3")
          ->delimiter(',')};
  cmd->add_flag("--check-finite", o->check_finite,
                "Refuse inputs holding NaN/Inf (exit 2, nothing written); warn about outputs holding "
                "them (and count them in --json)");
  return with_plugins(cmd, [o, flags, score, top_k] {
    for (CLI::Option* f : flags) o->panoptic_flags |= f->count() > 0;
    o->score_flag = score->count() > 0;
    o->top_k_flag = top_k->count() > 0;
    return run(*o);
  });
}

}  // namespace kiln::cli
