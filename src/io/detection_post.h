// Detections from DETR-family outputs with sigmoid (focal) class scores — AnchorDETR, Deformable
// DETR: per image, the k highest sigmoid(logit) over queries × classes, each with its query's
// box taken from normalized (cx, cy, w, h) to pixel corners (x0, y0, x1, y1) of that image's
// unpadded size. The semantics are the reference implementations' PostProcess: topk over the
// flattened [Q * C] probabilities, query = index / C, label = index % C, boxes
// cxcywh → xyxy, then multiplied by (w, h, w, h) — all in float32 as torch computes it.
#pragma once
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <vector>

#include "ir/tensor.h"

namespace kiln {

struct Detection {
  int64_t query = 0;
  int32_t label = 0;
  float score = 0;              // sigmoid of the logit
  std::array<float, 4> box{};   // x0, y0, x1, y1 in pixels of the unpadded image
};

// The size the boxes of one batch entry are relative to (its picture without padding).
struct BoxScale {
  float width = 0, height = 0;
};

// Checks logits [B, Q, C] and boxes [B, Q, 4] (float32 or float16; same B and Q; C >= 1):
// kInvalidArgument naming what is wrong. The dims/dtype form serves device tensors too.
void check_detection_outputs(DType logits_type, const Dims& logits, DType boxes_type, const Dims& boxes);
void check_detection_outputs(const Tensor& logits, const Tensor& boxes);
// The checks top_detections makes beyond the tensors': one scale per batch entry, k >= 1.
void check_detection_request(int64_t batch, size_t scales, int64_t k);

// Per batch entry, its min(k, Q * C) best detections, highest score first; equal scores keep
// the lower flat index q * C + c first, and a NaN logit ranks above every number (torch.topk).
// Scores are io/portable_sigmoid.h's, so the GPU version (runtime/cuda/post) ranks and writes
// the same bits. scales: one per batch entry. k >= 1.
std::vector<std::vector<Detection>> top_detections(const Tensor& logits, const Tensor& boxes,
                                                   const std::vector<BoxScale>& scales, int64_t k);

// One detection's box: normalized (cx, cy, w, h) to pixel corners of `s`, in float32 in this
// order of operations (the GPU version repeats it with round-to-nearest intrinsics).
std::array<float, 4> box_to_pixels(float cx, float cy, float w, float h, BoxScale s);

// The unpadded size of each image of a padding mask [B, H, W]: its valid rows along the first
// column and valid columns along the first row (padding sits bottom/right, as the models read
// it). `true_is_padding`: bool masks (True = padding, AnchorDETR's export); integer masks are
// DETR's pixel_mask (1 = real pixel). kInvalidArgument for other ranks or an all-padding image.
std::vector<BoxScale> unpadded_sizes(const Tensor& mask, bool true_is_padding);

// [{"label", "score", "box": [x0, y0, x1, y1], "query"}] in the order given.
nlohmann::json detections_to_json(const std::vector<Detection>& detections);

}  // namespace kiln
