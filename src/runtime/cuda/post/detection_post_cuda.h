// Detection post-processing on the GPU: io/detection_post.h's top_detections on the model's
// outputs where they lie, in device memory (detection_topk.h says how).
#pragma once
#include <cstdint>
#include <vector>

#include "io/detection_post.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln {

// top_detections for class logits [B, Q, C] and boxes [B, Q, 4] in device memory (float32 or
// float16 each): the same detections in the same order, scores and boxes bit for bit. Only the
// B × min(k, Q * C) detections are copied to the host; waits for `stream`. Errors as
// top_detections (kInvalidArgument); more than 2^30 scores per image is kUnsupported.
std::vector<std::vector<Detection>> top_detections_cuda(const DeviceTensor& logits, const DeviceTensor& boxes,
                                                        const std::vector<BoxScale>& scales, int64_t k,
                                                        CudaStream stream);

}  // namespace kiln
