#include "io/detection_post.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "io/portable_sigmoid.h"
#include "kiln/status.h"

namespace kiln {
namespace {

bool float_like(DType t) { return t == DType::kF32 || t == DType::kF16; }

// Element i as float32 (float16 widened exactly).
float value(const Tensor& t, int64_t i) { return float(t.at_double(i)); }

}  // namespace

void check_detection_outputs(DType logits_type, const Dims& logits, DType boxes_type, const Dims& boxes) {
  auto bad = [](const std::string& what) { fail(ErrorCode::kInvalidArgument, "detections: " + what); };
  if (!float_like(logits_type) || !float_like(boxes_type))
    bad(std::string("class logits and boxes must be float32 or float16, got ") + dtype_name(logits_type) +
        " and " + dtype_name(boxes_type));
  if (logits.size() != 3 || logits[2] < 1)
    bad("class logits must be [batch, queries, classes], got " + dims_to_string(logits));
  if (boxes.size() != 3 || boxes[2] != 4)
    bad("boxes must be [batch, queries, 4] (cx, cy, w, h), got " + dims_to_string(boxes));
  if (boxes[0] != logits[0] || boxes[1] != logits[1])
    bad("boxes " + dims_to_string(boxes) + " do not match class logits " + dims_to_string(logits));
}

void check_detection_outputs(const Tensor& logits, const Tensor& boxes) {
  check_detection_outputs(logits.dtype(), logits.dims(), boxes.dtype(), boxes.dims());
}

void check_detection_request(int64_t batch, size_t scales, int64_t k) {
  if (int64_t(scales) != batch)
    fail(ErrorCode::kInvalidArgument, "detections: " + std::to_string(scales) + " image sizes for a batch of " +
                                          std::to_string(batch));
  if (k < 1) fail(ErrorCode::kInvalidArgument, "detections: k must be at least 1, got " + std::to_string(k));
}

std::array<float, 4> box_to_pixels(float cx, float cy, float w, float h, BoxScale s) {
  return {(cx - 0.5f * w) * s.width, (cy - 0.5f * h) * s.height, (cx + 0.5f * w) * s.width,
          (cy + 0.5f * h) * s.height};
}

std::vector<std::vector<Detection>> top_detections(const Tensor& logits, const Tensor& boxes,
                                                   const std::vector<BoxScale>& scales, int64_t k) {
  check_detection_outputs(logits, boxes);
  const int64_t batch = logits.dim(0), queries = logits.dim(1), classes = logits.dim(2);
  check_detection_request(batch, scales.size(), k);
  const int64_t per_image = queries * classes;
  const int64_t keep = std::min(k, per_image);
  std::vector<std::vector<Detection>> result(static_cast<size_t>(batch));
  std::vector<float> score(static_cast<size_t>(per_image));
  std::vector<uint32_t> key(static_cast<size_t>(per_image));
  std::vector<int64_t> order(static_cast<size_t>(per_image));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < per_image; ++i) score[size_t(i)] = value(logits, b * per_image + i);
    portable_sigmoid_n(score.data(), score.data(), per_image);
    for (int64_t i = 0; i < per_image; ++i) key[size_t(i)] = score_order_key(score[size_t(i)]);
    std::iota(order.begin(), order.end(), int64_t(0));
    auto better = [&](int64_t a, int64_t c) {
      return key[size_t(a)] > key[size_t(c)] || (key[size_t(a)] == key[size_t(c)] && a < c);
    };
    std::partial_sort(order.begin(), order.begin() + keep, order.end(), better);
    const BoxScale s = scales[size_t(b)];
    for (int64_t r = 0; r < keep; ++r) {
      const int64_t flat = order[size_t(r)];
      Detection d;
      d.query = flat / classes;
      d.label = int32_t(flat % classes);
      d.score = score[size_t(flat)];
      const int64_t at = (b * queries + d.query) * 4;
      const float cx = value(boxes, at), cy = value(boxes, at + 1), w = value(boxes, at + 2), h = value(boxes, at + 3);
      d.box = box_to_pixels(cx, cy, w, h, s);
      result[size_t(b)].push_back(d);
    }
  }
  return result;
}

std::vector<BoxScale> unpadded_sizes(const Tensor& mask, bool true_is_padding) {
  if (mask.rank() != 3)
    fail(ErrorCode::kInvalidArgument, "padding mask must be [batch, height, width], got " + dims_to_string(mask.dims()));
  const int64_t batch = mask.dim(0), h = mask.dim(1), w = mask.dim(2);
  auto valid = [&](int64_t i) { return (mask.at_double(i) != 0) != true_is_padding; };
  std::vector<BoxScale> sizes;
  for (int64_t b = 0; b < batch; ++b) {
    int64_t rows = 0, cols = 0;
    for (int64_t y = 0; y < h; ++y) rows += valid((b * h + y) * w);
    for (int64_t x = 0; x < w; ++x) cols += valid(b * h * w + x);
    if (rows == 0 || cols == 0)
      fail(ErrorCode::kInvalidArgument, "padding mask: image " + std::to_string(b) +
                                            " has no valid pixel in its first row or column");
    sizes.push_back({float(cols), float(rows)});
  }
  return sizes;
}

nlohmann::json detections_to_json(const std::vector<Detection>& detections) {
  nlohmann::json list = nlohmann::json::array();
  for (const Detection& d : detections)
    list.push_back({{"label", d.label},
                    {"score", d.score},
                    {"box", {d.box[0], d.box[1], d.box[2], d.box[3]}},
                    {"query", d.query}});
  return list;
}

}  // namespace kiln
