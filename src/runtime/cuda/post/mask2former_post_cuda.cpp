#include "runtime/cuda/post/mask2former_post_cuda.h"

#include <memory>
#include <string>

#include "kiln/status.h"
#include "ops/linear/linear_cuda.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_session.h"
#include "runtime/cuda/post/mask2former_maps.h"

namespace kiln {
namespace {

// Host vectors copied to the device for one call; host and device copies live as long as this.
class Uploads {
 public:
  explicit Uploads(CudaStream stream) : stream_(stream) {}
  template <class T> const T* put(const std::vector<T>& v) {
    auto host = std::make_shared<std::vector<T>>(v);
    auto dev = std::make_unique<DeviceBuffer>(v.size() * sizeof(T), stream_);
    if (!v.empty())
      CUDA_CHECK(cudaMemcpyAsync(dev->data(), host->data(), v.size() * sizeof(T), cudaMemcpyHostToDevice, stream_));
    hosts_.push_back(host);
    const T* p = static_cast<const T*>(dev->data());
    devices_.push_back(std::move(dev));
    return p;
  }
  post::DeviceTaps taps(const BilinearTaps& t) { return {put(t.i0), put(t.i1), put(t.l0), put(t.l1)}; }

 private:
  CudaStream stream_;
  std::vector<std::shared_ptr<void>> hosts_;
  std::vector<std::unique_ptr<DeviceBuffer>> devices_;
};

// The class logits on the host as float32 (float16 widens exactly); waits for the stream.
Tensor class_logits_on_host(const DeviceTensor& t, CudaStream stream) {
  Tensor h = to_host(t, stream);
  if (h.dtype() == DType::kF32) return h;
  Tensor f(DType::kF32, h.dims());
  for (int64_t i = 0; i < h.numel(); ++i) f.data<float>()[i] = float(h.at_double(i));
  return f;
}

// The map's size and limits shared by both maps.
struct MapGeometry {
  Mask2FormerShape shape;
  int r = 0, height = 0, width = 0;
  bool target = false;
  int64_t pixels() const { return int64_t(height) * width; }
};

MapGeometry geometry(const DeviceTensor& class_logits, const DeviceTensor& mask_logits, const Mask2FormerSize& size) {
  MapGeometry g;
  g.shape = mask2former_shape(class_logits.dtype, class_logits.dims, mask_logits.dtype, mask_logits.dims, true);
  check_mask2former_size(size);
  g.r = size.resize;
  g.target = size.target_height > 0;
  g.height = g.target ? size.target_height : g.r;
  g.width = g.target ? size.target_width : g.r;
  const int64_t limit = int64_t(1) << 31;
  if (g.shape.queries > 65535 || int64_t(g.r) * g.r >= limit || g.pixels() >= limit)
    fail(ErrorCode::kUnsupported, "Mask2Former post-processing on the GPU: " + std::to_string(g.shape.queries) +
                                      " queries, resize " + std::to_string(g.r) + ", map " + std::to_string(g.height) +
                                      "x" + std::to_string(g.width) +
                                      "; at most 65535 queries and 2^31 pixels per map");
  return g;
}

// The mask probabilities at r x r of `count` queries (`queries` on the device, or all): [count, r * r].
std::unique_ptr<DeviceBuffer> mask_probs(const MapGeometry& g, const DeviceTensor& mask_logits, const int32_t* queries,
                                         int count, Uploads& up, CudaStream stream) {
  auto probs = std::make_unique<DeviceBuffer>(size_t(count) * size_t(g.r) * size_t(g.r) * sizeof(float), stream);
  post::launch_mask_probs(mask_logits.dtype, mask_logits.data(), g.shape.height, g.shape.width, queries, count,
                          up.taps(bilinear_taps(g.shape.height, g.r)), up.taps(bilinear_taps(g.shape.width, g.r)), g.r,
                          g.r, static_cast<float*>(probs->data()), stream);
  return probs;
}

// The target's taps, or none when the map stays at r x r.
std::pair<post::DeviceTaps, post::DeviceTaps> target_taps(const MapGeometry& g, Uploads& up) {
  if (!g.target) return {};
  return {up.taps(bilinear_taps(g.r, g.height)), up.taps(bilinear_taps(g.r, g.width))};
}

// The class-score GEMM runs in full fp32 whatever the session allows (the map is compared with
// the fp32 reference, and TF32 would move near-ties), with cuBLASLt's heuristic choice, neither
// timed nor stored in the engine's tuning cache.
struct PlainGemm {
  CudaSession& session;
  bool tf32, tune;
  TuningCache* tuning;
  explicit PlainGemm(CudaSession& s) : session(s), tf32(s.allow_tf32), tune(s.tune), tuning(s.tuning) {
    s.allow_tf32 = s.tune = false;
    s.tuning = nullptr;
  }
  ~PlainGemm() {
    session.allow_tf32 = tf32;
    session.tune = tune;
    session.tuning = tuning;
  }
};

}  // namespace

LabelMap mask2former_semantic_cuda(CudaSession& session, const DeviceTensor& class_logits,
                                   const DeviceTensor& mask_logits, const Mask2FormerSize& size) {
  const MapGeometry g = geometry(class_logits, mask_logits, size);
  const CudaStream stream = session.stream();
  const int q = g.shape.queries, k = g.shape.classes;
  const int64_t rr = int64_t(g.r) * g.r;
  Uploads up(stream);
  const float* cls = up.put(mask2former_class_probs(class_logits_on_host(class_logits, stream)));  // [Q, K]
  std::unique_ptr<DeviceBuffer> probs = mask_probs(g, mask_logits, nullptr, q, up, stream);

  // einsum("qc,qhw->chw"): scores [K, rr] = clsᵀ · probs [Q, rr].
  DeviceBuffer scores(size_t(k) * size_t(rr) * sizeof(float), stream);
  linear::GemmCall call;
  call.dtype = DType::kF32;
  call.trans_a = true;
  call.m = k;
  call.n = rr;
  call.k = q;
  call.a = cls;
  call.lda = k;
  call.b = probs->data();
  call.ldb = rr;
  call.c = scores.data();
  call.ldc = rr;
  {
    PlainGemm plain(session);
    linear::gemm_lt(session, call);
  }

  LabelMap map;
  map.height = g.height;
  map.width = g.width;
  map.ids.resize(size_t(g.pixels()));
  DeviceBuffer labels(map.ids.size() * sizeof(int32_t), stream);
  auto [ty, tx] = target_taps(g, up);
  post::launch_class_argmax(static_cast<const float*>(scores.data()), k, g.r, g.target, ty, tx, g.height, g.width,
                            static_cast<int32_t*>(labels.data()), stream);
  CUDA_CHECK(cudaMemcpyAsync(map.ids.data(), labels.data(), map.ids.size() * sizeof(int32_t), cudaMemcpyDeviceToHost,
                             stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  return map;
}

Panoptic mask2former_panoptic_cuda(CudaSession& session, const DeviceTensor& class_logits,
                                   const DeviceTensor& mask_logits, const PanopticOptions& options,
                                   const Mask2FormerSize& size) {
  const MapGeometry g = geometry(class_logits, mask_logits, size);
  const CudaStream stream = session.stream();
  const PanopticQueries queries = panoptic_queries(class_logits_on_host(class_logits, stream), options.score_threshold);
  Panoptic out;
  LabelMap& map = out.segments_map;
  map.height = g.height;
  map.width = g.width;
  map.ids.assign(size_t(g.pixels()), 0);
  const int kept = int(queries.kept.size());
  if (kept == 0) return out;
  if (kept > post::kMaxPanopticQueries)
    fail(ErrorCode::kUnsupported, "Mask2Former panoptic post-processing on the GPU: " + std::to_string(kept) +
                                      " queries pass the score threshold; at most " +
                                      std::to_string(post::kMaxPanopticQueries));

  Uploads up(stream);
  std::unique_ptr<DeviceBuffer> probs = mask_probs(g, mask_logits, up.put(queries.kept), kept, up, stream);
  DeviceBuffer owner(map.ids.size() * sizeof(int32_t), stream);
  DeviceBuffer counts(2 * size_t(kept) * sizeof(unsigned long long), stream);  // owned, then original
  CUDA_CHECK(cudaMemsetAsync(counts.data(), 0, counts.bytes(), stream));
  auto* owned = static_cast<unsigned long long*>(counts.data());
  auto [ty, tx] = target_taps(g, up);
  post::launch_panoptic_owners(static_cast<const float*>(probs->data()), up.put(queries.scores), kept, g.r, g.target, ty,
                               tx, g.height, g.width, options.mask_threshold, static_cast<int32_t*>(owner.data()),
                               owned, owned + kept, stream);
  std::vector<unsigned long long> host_counts(2 * size_t(kept));
  CUDA_CHECK(cudaMemcpyAsync(host_counts.data(), counts.data(), counts.bytes(), cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));

  std::vector<int64_t> owned_px(host_counts.begin(), host_counts.begin() + kept);
  std::vector<int64_t> original_px(host_counts.begin() + kept, host_counts.end());
  std::vector<int32_t> id_of;
  out.segments = panoptic_segments(queries, owned_px, original_px, options, id_of);
  DeviceBuffer ids(map.ids.size() * sizeof(int32_t), stream);
  post::launch_owner_ids(static_cast<const int32_t*>(owner.data()), up.put(id_of), g.pixels(),
                         static_cast<int32_t*>(ids.data()), stream);
  CUDA_CHECK(cudaMemcpyAsync(map.ids.data(), ids.data(), map.ids.size() * sizeof(int32_t), cudaMemcpyDeviceToHost,
                             stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

}  // namespace kiln
