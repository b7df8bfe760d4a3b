// `kiln run --image --task semantic|panoptic` for models with Mask2Former's two outputs,
// class_queries_logits [1, Q, K+1] and masks_queries_logits [1, Q, h, w]: the maps of
// io/mask2former_post.h at the picture's size, drawn and written.
//
//   semantic  <stem>_labels.png (palette colors), <stem>_labels.npy (int32 class ids [H, W]),
//             <stem>_overlay.png, <stem>_side_by_side.png
//   panoptic  the same with segment ids (0: no segment) colored per segment, and
//             <stem>_segments.json: [{id, label, score, area, query, fused}]
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <utility>

#include "io/image.h"
#include "io/mask2former_post.h"
#include "io/palettes.h"
#include "ir/graph.h"
#include "runtime/cpu_executor.h"
#include "task_post.h"

namespace kiln::cli {

// The names of the class and mask outputs: by transformers' names, else by shape ([1, Q, C]
// beside [1, Q, h, w] with the same known Q). Empty strings when the model has no such pair.
std::pair<std::string, std::string> find_mask2former_outputs(const Graph& g);

struct Mask2FormerPictures {
  std::string task;  // "semantic" or "panoptic"
  Palette palette = Palette::kAuto;
  PanopticOptions panoptic;
  const Image* picture = nullptr;  // the target size; none (width 0): transformers' 384 x 384
  std::string class_output, mask_output;
};

// Writes the pictures, labels and segments into dir as `stem`_*, listing each file in
// report["pictures"] (the .npy and .json in report["files"]) and the result in
// report["semantic"] or report["panoptic"].
// The maps come from post.semantic / post.panoptic when set, else the CPU reference.
void write_mask2former_outputs(const Mask2FormerPictures& p, const TensorMap& outputs, const std::string& dir,
                               const std::string& stem, nlohmann::json& report, const TaskPostProcessing& post = {});

}  // namespace kiln::cli
