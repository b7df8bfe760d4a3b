#include "picture_task.h"

#include <filesystem>

namespace kiln::cli {
namespace {

// ImageNet statistics, what SegFormer and most vision backbones were trained with.
constexpr std::array<float, 3> kMean = {0.485f, 0.456f, 0.406f};
constexpr std::array<float, 3> kStd = {0.229f, 0.224f, 0.225f};

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

void write_picture(const std::string& dir, const std::string& file, const Image& img,
                   nlohmann::json& report) {
  std::string path = (std::filesystem::path(dir) / file).string();
  write_png(path, img);
  report["pictures"].push_back(path);
}

}  // namespace

void feed_picture(PictureTask& task, Graph& g, ImportOptions& import, const std::string& model_path,
                  TensorMap& feeds) {
  task.picture = read_image(task.image_path);
  std::string name = image_input(g);
  const Shape& s = *g.value(name).type.shape;
  if (!shape_known(s)) {  // symbolic dims: batch 1 at the picture's own size
    auto pick = [](const Dim& d, int64_t fallback) { return d.known() ? d.value : fallback; };
    import.input_shapes[name] = {pick(s[0], 1), 3, pick(s[2], task.picture.height),
                                 pick(s[3], task.picture.width)};
    g = import_onnx_file(model_path, import);
  }
  Dims dims = shape_dims(*g.value(name).type.shape);
  feeds[name] = image_to_tensor(task.picture, int(dims[3]), int(dims[2]), kMean, kStd);
}

void write_task_outputs(const PictureTask& task, const Graph& g, const TensorMap& outputs,
                        const std::string& dir, nlohmann::json& report) {
  if (task.task != "semantic") return;
  const Tensor& logits = outputs.at(g.outputs[0]);
  if (logits.rank() != 4 || logits.dim(0) != 1)
    fail(ErrorCode::kInvalidArgument, "--task semantic needs a [1, classes, H, W] first output, got " +
                                          dims_to_string(logits.dims()));
  int classes = int(logits.dim(1)), h = int(logits.dim(2)), w = int(logits.dim(3));
  Image labels = colorize(argmax_labels(logits), w, h, classes);
  const Image& pic = task.picture;
  std::string stem = std::filesystem::path(task.image_path.empty() ? "output" : task.image_path).stem().string();
  write_picture(dir, stem + "_labels.png", resize_nearest(labels, pic.width ? pic.width : w, pic.height ? pic.height : h),
                report);
  if (pic.width)
    write_picture(dir, stem + "_overlay.png", blend(pic, resize_nearest(labels, pic.width, pic.height), 0.5f),
                  report);
}

}  // namespace kiln::cli
