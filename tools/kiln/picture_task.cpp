#include "picture_task.h"

#include <filesystem>

#include "io/matte.h"
#include "mask2former_task.h"
#include "io/png_rgba.h"

namespace kiln::cli {
namespace {

const std::string& image_input(const Graph& g) {
  if (g.inputs.size() != 1)
    fail(ErrorCode::kInvalidArgument, "--image needs a model with one input; this one has " +
                                          std::to_string(g.inputs.size()) + " (use --input)");
  const std::string& name = g.inputs[0];
  const ValueType& t = g.value(name).type;
  if (t.dtype != DType::kF32 || !t.shape || t.shape->size() != 4 ||
      ((*t.shape)[1].known() && (*t.shape)[1].value != 3))
    fail(ErrorCode::kInvalidArgument, "--image needs a float32 [N, 3, H, W] input; '" + name +
                                          "' is " + t.to_string());
  return name;
}

std::array<float, 3> three(const std::vector<float>& v, std::array<float, 3> fallback, const char* flag) {
  if (v.empty()) return fallback;
  if (v.size() == 1) return {v[0], v[0], v[0]};
  if (v.size() != 3)
    fail(ErrorCode::kInvalidArgument, std::string(flag) + " takes 1 or 3 values (R,G,B on 0..1), got " +
                                          std::to_string(v.size()));
  return {v[0], v[1], v[2]};
}

// Whether `name` is already a probability: it comes out of a Sigmoid, possibly through casts
// and reshapes (fp16 models end in Sigmoid → Cast).
bool from_sigmoid(const Graph& g, std::string name) {
  for (int hops = 0; hops < 8; ++hops) {
    const Node* producer = nullptr;
    for (const Node& n : g.nodes)
      for (const auto& o : n.outputs)
        if (o == name) producer = &n;
    if (!producer || producer->inputs.empty()) return false;
    const std::string& op = producer->op_type;
    if (op == "Sigmoid") return true;
    if (op != "Cast" && op != "Identity" && op != "Reshape" && op != "Squeeze" && op != "Unsqueeze" &&
        op != "Resize")
      return false;
    name = producer->inputs[0];
  }
  return false;
}

void check_dims(const std::string& task, const Dims& d) {
  bool single = d.size() >= 2 && d.size() <= 4 &&
                std::all_of(d.begin(), d.end() - 2, [](int64_t v) { return v == 1; });
  if (task == "matte" && !single)
    fail(ErrorCode::kInvalidArgument, "--task matte needs a single-channel [1, 1, H, W] output; this model's is " +
                                          dims_to_string(d) + " (use --task semantic for class scores)");
  if (task == "semantic" && (d.size() != 4 || d[0] != 1 || d[1] < 2))
    fail(ErrorCode::kInvalidArgument, "--task semantic needs a [1, classes, H, W] output with 2 or more classes; "
                                      "this model's is " + dims_to_string(d) +
                                          (single ? " (use --task matte)" : ""));
}

std::string stem_of(const PictureTask& task) {
  return std::filesystem::path(task.image_path.empty() ? "output" : task.image_path).stem().string();
}

}  // namespace

std::array<float, 3> default_mean(const std::string& task) {
  if (task == "matte") return {128.0f / 255, 128.0f / 255, 128.0f / 255};
  return {0.485f, 0.456f, 0.406f};
}

std::array<float, 3> default_std(const std::string& task) {
  if (task == "matte") return {256.0f / 255, 256.0f / 255, 256.0f / 255};
  return {0.229f, 0.224f, 0.225f};
}

void feed_picture(PictureTask& task, Graph& g, ImportOptions& import, const ReopenModel& reopen,
                  TensorMap& feeds) {
  std::array<float, 3> mean = three(task.mean, default_mean(task.task), "--mean");
  std::array<float, 3> std = three(task.std, default_std(task.task), "--std");
  for (float s : std)
    if (!(s > 0)) fail(ErrorCode::kInvalidArgument, "--std values must be positive");
  if (task.task == "detect") {  // an image and a padding mask, the picture letterboxed
    find_detection_inputs(g, task.detect);
    task.picture = read_image(task.image_path);
    feed_detection_picture(task.detect, task.picture, g, import, reopen, mean, std, feeds);
    task.input_name = task.detect.image_input;
    return;
  }
  std::string name = image_input(g);
  task.picture = read_image(task.image_path);
  const Shape& s = *g.value(name).type.shape;
  if (!shape_known(s)) {  // symbolic dims: batch 1 at the picture's own size
    auto pick = [](const Dim& d, int64_t fallback) { return d.known() ? d.value : fallback; };
    import.input_shapes[name] = {pick(s[0], 1), 3, pick(s[2], task.picture.height),
                                 pick(s[3], task.picture.width)};
    g = reopen(import);
  }
  Dims dims = shape_dims(*g.value(name).type.shape);
  if (dims[0] != 1)
    fail(ErrorCode::kInvalidArgument, "--image feeds one picture; input '" + name + "' has batch " +
                                          std::to_string(dims[0]) + " (give --shape " + name + "=1x3xHxW)");
  feeds[name] = image_to_tensor(task.picture, int(dims[3]), int(dims[2]), mean, std);
  task.input_name = name;
}

void check_panoptic_options(const PanopticOptions& o) {
  auto unit = [](double v, const char* flag) {
    if (!(v >= 0 && v <= 1))
      fail(ErrorCode::kInvalidArgument, std::string(flag) + " must lie between 0 and 1, got " + std::to_string(v));
  };
  unit(o.score_threshold, "--score-threshold");
  unit(o.mask_threshold, "--mask-threshold");
  unit(o.overlap_threshold, "--overlap-threshold");
  for (int label : o.fuse_labels)
    if (label < 0) fail(ErrorCode::kInvalidArgument, "--fuse-labels takes class ids (0 or more), got " + std::to_string(label));
}

void select_task_output(PictureTask& task, Graph& g) {
  if (task.task.empty()) return;
  if (g.outputs.empty()) fail(ErrorCode::kInvalidModel, "the model has no outputs");
  if (task.task == "detect") {
    find_detection_inputs(g, task.detect);
    return select_detection_outputs(task.detect, g);
  }
  auto [classes, masks] = find_mask2former_outputs(g);
  if (!classes.empty() && (task.task == "semantic" || task.task == "panoptic")) {
    task.class_output = classes;
    task.mask_output = masks;
    g.outputs = {classes, masks};
    return;
  }
  if (!classes.empty())  // its [1, Q, K+1] class logits would pass for a [1, H, W] matte
    fail(ErrorCode::kInvalidArgument, "--task matte needs a single-channel output; this model has Mask2Former's "
                                      "query outputs (use --task semantic or --task panoptic)");
  if (task.task == "panoptic") {
    std::string have;
    for (const auto& o : g.outputs) have += (have.empty() ? "" : ", ") + o + " " + g.value(o).type.to_string();
    fail(ErrorCode::kInvalidArgument, "--task panoptic needs Mask2Former's outputs class_queries_logits [1, Q, K+1] "
                                      "and masks_queries_logits [1, Q, h, w]; this model has " + have);
  }
  g.outputs.resize(1);
  const ValueType& t = g.value(g.outputs[0]).type;
  if (t.shape && shape_known(*t.shape)) check_dims(task.task, shape_dims(*t.shape));
}

void check_task_output(const PictureTask& task, const Graph& g, const TensorMap& feeds, const TensorMap& outputs) {
  if (task.task.empty()) return;
  if (task.task == "detect") {
    check_detection_outputs(outputs.at(task.detect.logits_output), outputs.at(task.detect.boxes_output));
    detection_scales(task.detect, task.picture, feeds);
    return;
  }
  if (task.class_output.empty()) return check_dims(task.task, outputs.at(g.outputs[0]).dims());
  Mask2FormerShape s = mask2former_shape(outputs.at(task.class_output), outputs.at(task.mask_output));
  for (int label : task.panoptic.fuse_labels)
    if (label >= s.classes)
      fail(ErrorCode::kInvalidArgument, "--fuse-labels " + std::to_string(label) + ": the model has " +
                                            std::to_string(s.classes) + " classes (0.." + std::to_string(s.classes - 1) + ")");
}

void write_task_outputs(const PictureTask& task, const Graph& g, const TensorMap& feeds, const TensorMap& outputs,
                        const std::string& dir, nlohmann::json& report, const TaskPostProcessing& post) {
  if (task.task.empty()) return;
  if (task.task == "detect")
    return write_detections(task.detect, task.picture, feeds, outputs, dir, stem_of(task), report, post);
  if (!task.class_output.empty()) {
    Mask2FormerPictures p{task.task, parse_palette(task.palette), task.panoptic, &task.picture, task.class_output,
                          task.mask_output};
    return write_mask2former_outputs(p, outputs, dir, stem_of(task), report, post);
  }
  const Tensor& out = outputs.at(g.outputs[0]);
  check_dims(task.task, out.dims());
  const Image& pic = task.picture;
  auto path = [&](const std::string& suffix) {
    std::string p = (std::filesystem::path(dir) / (stem_of(task) + suffix)).string();
    report["pictures"].push_back(p);
    return p;
  };

  if (task.task == "matte") {
    bool probabilities = from_sigmoid(g, g.outputs[0]);
    Matte m = timed_post_processing(report, "cpu", [&] {
      Matte alpha = matte_from_output(out, !probabilities);
      return pic.width ? resize_matte(alpha, pic.width, pic.height) : alpha;
    });
    report["matte"] = {{"values", probabilities ? "sigmoid in the model" : "logits, sigmoid applied"},
                       {"foreground_fraction", foreground_fraction(m)},
                       {"width", m.width},
                       {"height", m.height}};
    write_png_gray(path("_mask.png"), m.width, m.height, matte_bytes(m));
    if (!pic.width) return;
    ImageRgba cut = cut_out(pic, m);
    write_png_rgba(path("_cutout.png"), cut);
    write_png(path("_side_by_side.png"), side_by_side(pic, over_checkerboard(cut)));
    return;
  }

  // semantic
  int classes = int(out.dim(1)), h = int(out.dim(2)), w = int(out.dim(3));
  Palette palette = resolve_palette(parse_palette(task.palette), classes);
  std::vector<int32_t> ids = timed_post_processing(report, "cpu", [&] { return argmax_labels(out); });
  std::vector<int64_t> counts(size_t(classes), 0);
  for (int32_t id : ids) ++counts[size_t(id)];
  nlohmann::json present = nlohmann::json::array();
  for (int c = 0; c < classes; ++c)
    if (counts[size_t(c)]) present.push_back({{"class", c}, {"fraction", double(counts[size_t(c)]) / double(ids.size())}});
  report["semantic"] = {{"classes", classes}, {"palette", palette_name(palette)}, {"present", present}};
  Image labels = colorize(ids, w, h, palette);
  if (pic.width) labels = resize_nearest(labels, pic.width, pic.height);
  write_png(path("_labels.png"), labels);
  if (!pic.width) return;
  Image overlay = blend(pic, labels, 0.5f);
  write_png(path("_overlay.png"), overlay);
  write_png(path("_side_by_side.png"), side_by_side(pic, overlay));
}

}  // namespace kiln::cli
