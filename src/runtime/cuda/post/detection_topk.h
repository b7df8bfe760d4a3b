// Device side of the detection top-k (detection_post_cuda.h): plain data and the launcher that
// detection_topk.cu implements.
//
// Every score is ranked by a 64-bit key: score_order_key(portable_sigmoid(logit)) in the high
// half, ~(flat index q * C + c) in the low half, so keys are distinct and "larger key" is
// exactly the CPU reference's order (higher score first, equal scores by lower index).
//   keep <= kBlockTopK: one block per image finds the keep-th largest score by radix select
//     (four 8-bit digits), takes every larger score and the lowest indices of the equal ones,
//     and sorts those keep keys bitonically in shared memory.
//   larger keep: every key of the image is sorted (bitonic, 2048-key tiles in shared memory,
//     the longer strides in global memory) and the first keep are taken.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ir/dtype.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::post {

// One detection as the device writes it (the host turns it into a Detection).
struct DetectionRecord {
  int32_t query = 0, label = 0;
  float score = 0;
  float box[4] = {};
};

constexpr int64_t kBlockTopK = 2048;
// Images of at most this many scores (queries × classes): indices and bitonic tiles in 32 bits.
constexpr int64_t kMaxTopKScores = int64_t(1) << 30;

struct TopKProblem {
  DType logits_type = DType::kF32, boxes_type = DType::kF32;  // f32 or f16 each
  const void* logits = nullptr;  // [batch, queries, classes]
  const void* boxes = nullptr;   // [batch, queries, 4]: cx, cy, w, h
  const float* scales = nullptr;  // [batch, 2]: width, height of each image
  int64_t batch = 0;
  int64_t queries = 0, classes = 0;  // queries * classes <= kMaxTopKScores
  int64_t keep = 0;                  // 1 .. queries * classes
  DetectionRecord* out = nullptr;    // [batch, keep], best first
};

// Device scratch the launch needs (a multiple of 256 bytes).
size_t topk_scratch_bytes(const TopKProblem& p);
void launch_detection_topk(const TopKProblem& p, void* scratch, CudaStream stream);

}  // namespace kiln::post
