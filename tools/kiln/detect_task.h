// `kiln run --task detect` for DETR-family detectors with sigmoid class scores (AnchorDETR):
// outputs class logits [B, Q, C] and boxes [B, Q, 4] (normalized cx, cy, w, h), found by name
// (pred_logits / logits, pred_boxes) or else by shape.
//
// With --image the picture is resized, keeping its aspect ratio, into the image input's H x W
// (symbolic H/W: DETR's evaluation size, short side 800 and long side at most 1333) at the top
// left, the rest 0 after normalization; a second, [N, H, W] input gets the padding mask (bool:
// True = padding, as AnchorDETR's export; integers: 1 = real pixel, as DETR's pixel_mask).
// Without a picture (--input arrays) the boxes are scaled to each image's unpadded size read
// from the mask input (else the image input's size).
//
// Writes <stem>_detections.json — a list of the top-k (default 100) detections over queries ×
// classes, [{label, score, box: [x0, y0, x1, y1] in pixels of the picture, query}] (with
// "image": b for batches) — and, with a picture, <stem>_boxes.png: the picture with the boxes
// scoring at least --score-threshold drawn in class colors.
#pragma once
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "io/detection_post.h"
#include "io/image.h"
#include "ir/graph.h"
#include "onnx/importer.h"
#include "runtime/cpu_executor.h"
#include "task_post.h"

namespace kiln::cli {

struct DetectSetup {
  int64_t top_k = 100;
  float draw_threshold = 0.5f;  // boxes drawn at this score or more
  std::string image_input, mask_input;
  std::string logits_output, boxes_output;
  int canvas_width = 0, canvas_height = 0;    // the image input's W x H
  int picture_width = 0, picture_height = 0;  // the resized picture inside it
};

// The image input and, if any, the mask input (kInvalidArgument when the inputs are not one
// float32 [N, 3, H, W] image and at most one [N, H, W] bool/integer mask).
void find_detection_inputs(const Graph& g, DetectSetup& d);

// Feeds `picture` (see above); reopens the model through `reopen` when its H/W are symbolic.
void feed_detection_picture(DetectSetup& d, const Image& picture, Graph& g, ImportOptions& import,
                            const std::function<Graph(const ImportOptions&)>& reopen, std::array<float, 3> mean,
                            std::array<float, 3> std, TensorMap& feeds);

// Finds the logits and boxes outputs and keeps only them (kInvalidArgument when there are none).
void select_detection_outputs(DetectSetup& d, Graph& g);

// The size each image's boxes are scaled to: the picture's, else the unpadded size from the mask
// input, else the image input's (kInvalidArgument for a mask without a valid first row/column).
std::vector<BoxScale> detection_scales(const DetectSetup& d, const Image& picture, const TensorMap& feeds);

// Top-k (through post.detections when set), JSON, and the picture with boxes (when `picture` has
// pixels), written into dir as `stem`_*; files listed in report["files"] / report["pictures"], a
// summary in report["detect"].
void write_detections(const DetectSetup& d, const Image& picture, const TensorMap& feeds, const TensorMap& outputs,
                      const std::string& dir, const std::string& stem, nlohmann::json& report,
                      const TaskPostProcessing& post = {});

}  // namespace kiln::cli
