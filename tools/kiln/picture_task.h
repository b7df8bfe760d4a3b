// Pictures in and out for `kiln run --image FILE [--task matte|semantic]`: the picture becomes
// the model's image input (resized, normalized, NCHW), and the task's output becomes pictures.
//
//   matte     single-channel output ([1, 1, H, W]) → foreground alpha: <stem>_mask.png (gray),
//             <stem>_cutout.png (RGBA), <stem>_side_by_side.png (picture | cut-out on a checkerboard)
//   semantic  class scores ([1, C, H, W]) → argmax labels: <stem>_labels.png (palette colors),
//             <stem>_overlay.png, <stem>_side_by_side.png (picture | overlay); Mask2Former's two
//             outputs → its semantic map (mask2former_task.h)
//   panoptic  Mask2Former's two outputs → segments (mask2former_task.h)
//   detect    DETR-family class logits and boxes → top-k detections JSON, boxes drawn
//             (detect_task.h)
#pragma once
#include <nlohmann/json.hpp>

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "detect_task.h"
#include "io/image.h"
#include "io/mask2former_post.h"
#include "io/palettes.h"
#include "onnx/importer.h"
#include "runtime/cpu_executor.h"
#include "task_post.h"

namespace kiln::cli {

struct PictureTask {
  std::string image_path;       // empty: no picture input
  std::string task;             // "", "matte", "semantic", "panoptic", "detect"
  std::string palette = "auto";
  std::vector<float> mean, std;  // per channel, on [0, 1] values; empty: the task's default
  Image picture;
  std::string input_name;       // the model input the picture was fed to
  PanopticOptions panoptic;      // --score-threshold, --mask-threshold, --overlap-threshold, --fuse-labels
  std::string class_output, mask_output;  // Mask2Former's outputs, when the model has them
  DetectSetup detect;            // --task detect: --top-k, --score-threshold, inputs and outputs
};

// --score-threshold/--mask-threshold/--overlap-threshold lie in [0, 1], --fuse-labels are class
// ids >= 0: kInvalidArgument naming the flag otherwise.
void check_panoptic_options(const PanopticOptions& o);

// The task's defaults: matte models (ISNet, as its web runtime @imgly/background-removal feeds
// it) take (v - 128) / 256 on 0..255 values; everything else ImageNet mean/std.
std::array<float, 3> default_mean(const std::string& task);
std::array<float, 3> default_std(const std::string& task);

// Reads the picture and feeds it to the model's single float32 [N, 3, H, W] input, resized to
// the input's H and W (symbolic dims take the picture's size; the graph is reopened with them).
using ReopenModel = std::function<Graph(const ImportOptions&)>;
void feed_picture(PictureTask& task, Graph& g, ImportOptions& import, const ReopenModel& reopen,
                  TensorMap& feeds);

// With a task, only the task's outputs are kept (the model's first; Mask2Former's class and mask
// outputs for semantic and panoptic), so the rest of the graph can be dropped. Throws
// kInvalidArgument when they cannot serve the task (when their shapes are known before running).
void select_task_output(PictureTask& task, Graph& g);
// The same check on the computed outputs (and, for detect, on the mask in `feeds`); call it
// before writing anything.
void check_task_output(const PictureTask& task, const Graph& g, const TensorMap& feeds, const TensorMap& outputs);

// Writes the task's pictures into dir (each atomically) and lists them in report["pictures"].
// `feeds`: the inputs the model ran on (detect scales boxes by the padding mask without a picture).
// Detections and Mask2Former's maps come from `post` where it has them (task_post.h).
void write_task_outputs(const PictureTask& task, const Graph& g, const TensorMap& feeds, const TensorMap& outputs,
                        const std::string& dir, nlohmann::json& report, const TaskPostProcessing& post = {});

}  // namespace kiln::cli
