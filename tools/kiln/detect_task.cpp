#include "detect_task.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "io/draw_boxes.h"
#include "io/file_util.h"
#include "io/palettes.h"

namespace kiln::cli {
namespace {

bool is_mask_dtype(DType t) {
  return t == DType::kBool || t == DType::kI64 || t == DType::kI32 || t == DType::kU8 || t == DType::kI8;
}

const Shape* shape_of(const Graph& g, const std::string& name) {
  const ValueType& t = g.value(name).type;
  return t.shape ? &*t.shape : nullptr;
}

// Known dim i of `name`, or -1.
int64_t known_dim(const Graph& g, const std::string& name, int i) {
  const Shape* s = shape_of(g, name);
  return s && int(s->size()) > i && (*s)[size_t(i)].known() ? (*s)[size_t(i)].value : -1;
}

std::string describe_outputs(const Graph& g) {
  std::string have;
  for (const auto& o : g.outputs) have += (have.empty() ? "" : ", ") + o + " " + g.value(o).type.to_string();
  return have;
}

// DETR's evaluation size: the short side 800, the long side at most 1333 (torchvision-style
// rounding of the scaled sides).
std::pair<int, int> detr_size(int width, int height) {
  const double s = std::min(800.0 / std::min(width, height), 1333.0 / std::max(width, height));
  return {std::max(1, int(std::lround(width * s))), std::max(1, int(std::lround(height * s)))};
}

}  // namespace

void find_detection_inputs(const Graph& g, DetectSetup& d) {
  d.image_input.clear();
  d.mask_input.clear();
  for (const auto& name : g.inputs) {
    const ValueType& t = g.value(name).type;
    const Shape* s = shape_of(g, name);
    if (t.dtype == DType::kF32 && s && s->size() == 4 && (!(*s)[1].known() || (*s)[1].value == 3) &&
        d.image_input.empty())
      d.image_input = name;
    else if (is_mask_dtype(t.dtype) && s && s->size() == 3 && d.mask_input.empty())
      d.mask_input = name;
    else
      fail(ErrorCode::kInvalidArgument, "--task detect needs a float32 [N, 3, H, W] image input and at most one "
                                        "[N, H, W] bool or integer padding mask; input '" + name + "' is " +
                                            t.to_string());
  }
  if (d.image_input.empty())
    fail(ErrorCode::kInvalidArgument, "--task detect needs a float32 [N, 3, H, W] image input; this model has none");
}

void feed_detection_picture(DetectSetup& d, const Image& picture, Graph& g, ImportOptions& import,
                            const std::function<Graph(const ImportOptions&)>& reopen, std::array<float, 3> mean,
                            std::array<float, 3> std, TensorMap& feeds) {
  find_detection_inputs(g, d);
  const int64_t batch = known_dim(g, d.image_input, 0);
  if (batch > 1)
    fail(ErrorCode::kInvalidArgument, "--image feeds one picture; input '" + d.image_input + "' has batch " +
                                          std::to_string(batch) + " (give --shape " + d.image_input + "=1x3xHxW)");
  int64_t h = known_dim(g, d.image_input, 2), w = known_dim(g, d.image_input, 3);
  if (h < 0 || w < 0) {  // symbolic: DETR's evaluation size for this picture, no padding
    auto [dw, dh] = detr_size(picture.width, picture.height);
    if (h < 0) h = dh;
    if (w < 0) w = dw;
  }
  bool reopen_needed = batch < 0 || !shape_known(*shape_of(g, d.image_input));
  import.input_shapes[d.image_input] = {1, 3, h, w};
  if (!d.mask_input.empty()) {
    reopen_needed |= !shape_known(*shape_of(g, d.mask_input));
    import.input_shapes[d.mask_input] = {1, h, w};
  }
  if (reopen_needed) {
    g = reopen(import);
    find_detection_inputs(g, d);
  }
  if (!d.mask_input.empty() && shape_dims(*shape_of(g, d.mask_input)) != Dims{1, h, w})
    fail(ErrorCode::kInvalidArgument, "--task detect: mask input '" + d.mask_input + "' is " +
                                          g.value(d.mask_input).type.to_string() + ", the image is " +
                                          std::to_string(h) + "x" + std::to_string(w));

  // The picture keeps its aspect ratio inside the canvas, at the top left.
  const double scale = std::min(double(h) / picture.height, double(w) / picture.width);
  d.canvas_width = int(w);
  d.canvas_height = int(h);
  d.picture_width = std::clamp(int(std::lround(picture.width * scale)), 1, int(w));
  d.picture_height = std::clamp(int(std::lround(picture.height * scale)), 1, int(h));
  Tensor resized = image_to_tensor(picture, d.picture_width, d.picture_height, mean, std);
  Tensor image(DType::kF32, {1, 3, h, w});
  const float* src = resized.data<float>();
  float* dst = image.data<float>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < d.picture_height; ++y)
      std::copy_n(src + (c * d.picture_height + y) * d.picture_width, d.picture_width, dst + (c * h + y) * w);
  feeds[d.image_input] = image;
  if (d.mask_input.empty()) return;
  const DType mt = g.value(d.mask_input).type.dtype;
  Tensor valid(DType::kI64, {1, h, w});  // 1 on the picture, 0 on padding; cast below
  int64_t* v = valid.data<int64_t>();
  for (int64_t y = 0; y < d.picture_height; ++y) std::fill_n(v + y * w, d.picture_width, int64_t(1));
  Tensor mask(mt, {1, h, w});
  for (int64_t i = 0; i < h * w; ++i) {
    switch (mt) {
      case DType::kBool: mask.data<bool>()[i] = v[i] == 0; break;  // True = padding
      case DType::kI64: mask.data<int64_t>()[i] = v[i]; break;
      case DType::kI32: mask.data<int32_t>()[i] = int32_t(v[i]); break;
      case DType::kU8: mask.data<uint8_t>()[i] = uint8_t(v[i]); break;
      case DType::kI8: mask.data<int8_t>()[i] = int8_t(v[i]); break;
      default: KILN_ASSERT(false);
    }
  }
  feeds[d.mask_input] = mask;
}

void select_detection_outputs(DetectSetup& d, Graph& g) {
  auto rank3 = [&](const std::string& name, bool boxes) {
    const Shape* s = shape_of(g, name);
    if (!s || s->size() != 3) return false;
    const Dim& last = (*s)[2];
    return boxes ? last.known() && last.value == 4 : !(last.known() && last.value == 4);
  };
  auto named = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (std::find(g.outputs.begin(), g.outputs.end(), n) != g.outputs.end()) return std::string(n);
    return std::string();
  };
  d.logits_output = named({"pred_logits", "logits"});
  d.boxes_output = named({"pred_boxes", "boxes"});
  for (const auto& o : g.outputs) {
    if (d.boxes_output.empty() && rank3(o, true)) d.boxes_output = o;
    if (d.logits_output.empty() && rank3(o, false)) d.logits_output = o;
  }
  if (d.logits_output.empty() || d.boxes_output.empty() || d.logits_output == d.boxes_output)
    fail(ErrorCode::kInvalidArgument, "--task detect needs class logits [N, Q, C] and boxes [N, Q, 4] outputs "
                                      "(pred_logits, pred_boxes); this model has " + describe_outputs(g));
  g.outputs = {d.logits_output, d.boxes_output};
}

std::vector<BoxScale> detection_scales(const DetectSetup& d, const Image& picture, const TensorMap& feeds) {
  if (picture.width) return {BoxScale{float(picture.width), float(picture.height)}};
  if (!d.mask_input.empty()) {
    const Tensor& mask = feeds.at(d.mask_input);
    return unpadded_sizes(mask, mask.dtype() == DType::kBool);
  }
  const Tensor& image = feeds.at(d.image_input);
  return std::vector<BoxScale>(size_t(image.dim(0)), BoxScale{float(image.dim(3)), float(image.dim(2))});
}

void write_detections(const DetectSetup& d, const Image& picture, const TensorMap& feeds, const TensorMap& outputs,
                      const std::string& dir, const std::string& stem, nlohmann::json& report,
                      const TaskPostProcessing& post) {
  const Tensor& logits = outputs.at(d.logits_output);
  const Tensor& boxes = outputs.at(d.boxes_output);
  check_detection_outputs(logits, boxes);
  const std::vector<BoxScale> scales = detection_scales(d, picture, feeds);
  const std::string relative_to = picture.width ? "picture" : d.mask_input.empty() ? "input" : "unpadded input (mask)";
  const auto per_image = post.detections
                             ? timed_post_processing(report, post.device, [&] { return post.detections(scales, d.top_k); })
                             : timed_post_processing(report, "cpu", [&] { return top_detections(logits, boxes, scales, d.top_k); });

  nlohmann::json list = nlohmann::json::array();
  for (size_t b = 0; b < per_image.size(); ++b)
    for (nlohmann::json det : detections_to_json(per_image[b])) {
      if (per_image.size() > 1) det["image"] = b;
      list.push_back(det);
    }
  auto path = [&](const std::string& suffix, const char* key) {
    std::string p = (std::filesystem::path(dir) / (stem + suffix)).string();
    report[key].push_back(p);
    return p;
  };
  write_file_atomic(path("_detections.json", "files"), list.dump(2) + "\n");

  int drawn = 0;
  if (picture.width) {
    Image canvas = picture;
    const int classes = int(logits.dim(2));
    const Palette palette = resolve_palette(Palette::kHues, classes);
    const int thickness = std::max(2, std::min(picture.width, picture.height) / 250);
    const auto& dets = per_image[0];
    for (auto it = dets.rbegin(); it != dets.rend(); ++it)  // the best drawn last, on top
      if (it->score >= d.draw_threshold) {
        draw_box(canvas, it->box, palette_color(it->label, palette), thickness);
        ++drawn;
      }
    write_png(path("_boxes.png", "pictures"), canvas);
  }
  nlohmann::json summary = {{"images", per_image.size()},
                            {"queries", logits.dim(1)},
                            {"classes", logits.dim(2)},
                            {"top_k", d.top_k},
                            {"boxes_relative_to", relative_to},
                            {"drawn", drawn},
                            {"draw_threshold", d.draw_threshold}};
  if (d.canvas_width)
    summary["input"] = {{"width", d.canvas_width}, {"height", d.canvas_height},
                        {"picture_width", d.picture_width}, {"picture_height", d.picture_height}};
  if (!per_image.empty() && !per_image[0].empty())
    summary["best"] = detections_to_json({per_image[0][0]})[0];
  report["detect"] = summary;
}

}  // namespace kiln::cli
