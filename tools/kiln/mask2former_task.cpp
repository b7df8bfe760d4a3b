#include "mask2former_task.h"

#include <filesystem>

#include "io/file_util.h"
#include "io/npy.h"

namespace kiln::cli {
namespace {

std::optional<Dims> known_dims(const Graph& g, const std::string& name) {
  const ValueType& t = g.value(name).type;
  if (!t.shape || !shape_known(*t.shape)) return std::nullopt;
  return shape_dims(*t.shape);
}

Tensor ids_tensor(const LabelMap& map) {
  return Tensor::from_vector<int32_t>({map.height, map.width}, map.ids);
}

// Segment ids → colors, one hue per segment so instances of one class stay apart; pixels of no
// segment are black here and keep the picture in the overlay.
Image color_segments(const LabelMap& map) {
  Image img{map.width, map.height, std::vector<uint8_t>(map.ids.size() * 3, 0)};
  for (size_t i = 0; i < map.ids.size(); ++i) {
    if (map.ids[i] == 0) continue;
    Rgb c = palette_color(map.ids[i] - 1, Palette::kHues);
    std::copy(c.begin(), c.end(), img.rgb.begin() + int64_t(i) * 3);
  }
  return img;
}

Image overlay_segments(const Image& picture, const Image& colors, const LabelMap& map) {
  Image out = blend(picture, colors, 0.5f);
  for (size_t i = 0; i < map.ids.size(); ++i)
    if (map.ids[i] == 0) std::copy_n(picture.rgb.begin() + int64_t(i) * 3, 3, out.rgb.begin() + int64_t(i) * 3);
  return out;
}

}  // namespace

std::pair<std::string, std::string> find_mask2former_outputs(const Graph& g) {
  auto has = [&](const std::string& n) { return std::find(g.outputs.begin(), g.outputs.end(), n) != g.outputs.end(); };
  if (has("class_queries_logits") && has("masks_queries_logits")) return {"class_queries_logits", "masks_queries_logits"};
  for (const auto& c : g.outputs)
    for (const auto& m : g.outputs) {
      auto cd = known_dims(g, c), md = known_dims(g, m);
      if (cd && md && cd->size() == 3 && md->size() == 4 && (*cd)[0] == 1 && (*md)[0] == 1 && (*cd)[1] == (*md)[1] &&
          (*cd)[2] >= 2)
        return {c, m};
    }
  return {};
}

void write_mask2former_outputs(const Mask2FormerPictures& p, const TensorMap& outputs, const std::string& dir,
                               const std::string& stem, nlohmann::json& report, const TaskPostProcessing& post) {
  const Tensor& classes = outputs.at(p.class_output);
  const Tensor& masks = outputs.at(p.mask_output);
  Mask2FormerShape shape = mask2former_shape(classes, masks);
  const Image* pic = p.picture && p.picture->width ? p.picture : nullptr;
  Mask2FormerSize size;
  if (pic) size.target_height = pic->height, size.target_width = pic->width;
  auto path = [&](const std::string& suffix, const char* list) {
    std::string f = (std::filesystem::path(dir) / (stem + suffix)).string();
    report[list].push_back(f);
    return f;
  };

  LabelMap map;
  Image colors;
  nlohmann::json result = {{"classes", shape.classes}, {"queries", shape.queries}, {"post_processing", "mask2former"}};
  if (p.task == "semantic") {
    map = post.semantic ? timed_post_processing(report, post.device, [&] { return post.semantic(size); })
                        : timed_post_processing(report, "cpu", [&] { return mask2former_semantic(classes, masks, size); });
    Palette palette = resolve_palette(p.palette, shape.classes);
    std::vector<int64_t> counts(size_t(shape.classes), 0);
    for (int32_t id : map.ids) ++counts[size_t(id)];
    nlohmann::json present = nlohmann::json::array();
    for (int c = 0; c < shape.classes; ++c)
      if (counts[size_t(c)]) present.push_back({{"class", c}, {"fraction", double(counts[size_t(c)]) / double(map.ids.size())}});
    result["palette"] = palette_name(palette);
    result["present"] = present;
    colors = colorize(map.ids, map.width, map.height, palette);
  } else {
    Panoptic pan =
        post.panoptic
            ? timed_post_processing(report, post.device, [&] { return post.panoptic(p.panoptic, size); })
            : timed_post_processing(report, "cpu", [&] { return mask2former_panoptic(classes, masks, p.panoptic, size); });
    map = std::move(pan.segments_map);
    nlohmann::json segments = nlohmann::json::array();
    for (const auto& s : pan.segments)
      segments.push_back({{"id", s.id}, {"label", s.label}, {"score", s.score}, {"area", s.area}, {"query", s.query},
                          {"fused", s.fused}});
    result["segments"] = segments;
    result["score_threshold"] = p.panoptic.score_threshold;
    result["mask_threshold"] = p.panoptic.mask_threshold;
    result["overlap_threshold"] = p.panoptic.overlap_threshold;
    result["fuse_labels"] = p.panoptic.fuse_labels;
    colors = color_segments(map);
    write_file_atomic(path("_segments.json", "files"), segments.dump(2) + "\n");
  }
  result["width"] = map.width;
  result["height"] = map.height;
  report[p.task] = result;
  write_npy(path("_labels.npy", "files"), ids_tensor(map));
  write_png(path("_labels.png", "pictures"), colors);
  if (!pic) return;
  Image overlay = p.task == "semantic" ? blend(*pic, colors, 0.5f) : overlay_segments(*pic, colors, map);
  write_png(path("_overlay.png", "pictures"), overlay);
  write_png(path("_side_by_side.png", "pictures"), side_by_side(*pic, overlay));
}

}  // namespace kiln::cli
