#include "runtime/cuda/post/detection_post_cuda.h"

#include <algorithm>
#include <string>

#include "kiln/status.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/post/detection_topk.h"

namespace kiln {

std::vector<std::vector<Detection>> top_detections_cuda(const DeviceTensor& logits, const DeviceTensor& boxes,
                                                        const std::vector<BoxScale>& scales, int64_t k,
                                                        CudaStream stream) {
  check_detection_outputs(logits.dtype, logits.dims, boxes.dtype, boxes.dims);
  const int64_t batch = logits.dims[0], queries = logits.dims[1], classes = logits.dims[2];
  check_detection_request(batch, scales.size(), k);
  const int64_t n = queries * classes;
  if (n > post::kMaxTopKScores || batch > 0x7fffffff)
    fail(ErrorCode::kUnsupported, "detections on the GPU: " + std::to_string(n) + " scores per image in a batch of " +
                                      std::to_string(batch) + "; at most 2^30 scores and 2^31 images");
  std::vector<std::vector<Detection>> result(static_cast<size_t>(batch));
  const int64_t keep = std::min(k, n);
  if (batch == 0 || keep == 0) return result;

  std::vector<float> wh;
  for (const BoxScale& s : scales) wh.insert(wh.end(), {s.width, s.height});
  DeviceBuffer scale_buffer(wh.size() * sizeof(float), stream);
  CUDA_CHECK(cudaMemcpyAsync(scale_buffer.data(), wh.data(), wh.size() * sizeof(float), cudaMemcpyHostToDevice, stream));
  post::TopKProblem p;
  p.logits_type = logits.dtype;
  p.boxes_type = boxes.dtype;
  p.logits = logits.data();
  p.boxes = boxes.data();
  p.scales = static_cast<const float*>(scale_buffer.data());
  p.batch = batch;
  p.queries = queries;
  p.classes = classes;
  p.keep = keep;
  std::vector<post::DetectionRecord> records(size_t(batch * keep));
  DeviceBuffer out(records.size() * sizeof(post::DetectionRecord), stream);
  p.out = static_cast<post::DetectionRecord*>(out.data());
  DeviceBuffer scratch(post::topk_scratch_bytes(p), stream);
  post::launch_detection_topk(p, scratch.data(), stream);
  CUDA_CHECK(cudaMemcpyAsync(records.data(), out.data(), records.size() * sizeof(post::DetectionRecord),
                             cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));  // wh and records are read by then

  for (int64_t b = 0; b < batch; ++b)
    for (int64_t r = 0; r < keep; ++r) {
      const post::DetectionRecord& rec = records[size_t(b * keep + r)];
      Detection d;
      d.query = rec.query;
      d.label = rec.label;
      d.score = rec.score;
      d.box = {rec.box[0], rec.box[1], rec.box[2], rec.box[3]};
      result[size_t(b)].push_back(d);
    }
  return result;
}

}  // namespace kiln
