// Pictures in and out for `kiln run --image FILE [--task semantic]`: the picture becomes the
// model's image input, and the outputs become pictures.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "io/image.h"
#include "onnx/importer.h"
#include "runtime/cpu_executor.h"

namespace kiln::cli {

struct PictureTask {
  std::string image_path;  // empty: no picture input
  std::string task;        // "", "semantic"
  Image picture;
};

// Reads the picture and feeds it to the model's single float32 [N, 3, H, W] input, resized to
// the input's H and W (symbolic dims take the picture's size; the graph is re-imported).
void feed_picture(PictureTask& task, Graph& g, ImportOptions& import, const std::string& model_path,
                  TensorMap& feeds);

// semantic: argmax over classes of the first [1, C, H, W] output → <stem>_labels.png (palette
// colors) and, with a picture, <stem>_overlay.png. Paths are added to report["pictures"].
void write_task_outputs(const PictureTask& task, const Graph& g, const TensorMap& outputs,
                        const std::string& dir, nlohmann::json& report);

}  // namespace kiln::cli
