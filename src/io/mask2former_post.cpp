#include "io/mask2former_post.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "io/portable_sigmoid.h"
#include "kiln/status.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

inline float blend(const float* p, int w, const BilinearTaps& ty, const BilinearTaps& tx, int y, int x) {
  const float* r0 = p + int64_t(ty.i0[size_t(y)]) * w;
  const float* r1 = p + int64_t(ty.i1[size_t(y)]) * w;
  int a = tx.i0[size_t(x)], b = tx.i1[size_t(x)];
  float wa = tx.l0[size_t(x)], wb = tx.l1[size_t(x)];
  return ty.l0[size_t(y)] * (wa * r0[a] + wb * r0[b]) + ty.l1[size_t(y)] * (wa * r1[a] + wb * r1[b]);
}

// Through the shared sigmoid, in parallel: a Mask2Former map has ~15 million of them.
void sigmoid_in_place(std::vector<float>& v) {
  parallel_for(int64_t(v.size()), 1 << 16, [&](int64_t lo, int64_t hi) {
    portable_sigmoid_n(v.data() + lo, v.data() + lo, hi - lo);
  });
}

// Softmax of one row of logits, as torch computes it: max subtracted, exp, divided by the sum.
std::vector<float> softmax(const float* row, int n) {
  float m = *std::max_element(row, row + n);
  std::vector<float> p(static_cast<size_t>(n));
  float sum = 0;
  for (int i = 0; i < n; ++i) sum += p[size_t(i)] = std::exp(row[i] - m);
  for (float& v : p) v /= sum;
  return p;
}

// The mask logits at resize x resize, through a sigmoid: [Q, resize * resize].
std::vector<float> mask_probs(const Tensor& mask_logits, const Mask2FormerShape& s, int resize) {
  std::vector<float> p = resize_planes_bilinear(mask_logits.data<float>(), s.queries, s.height, s.width, resize, resize);
  sigmoid_in_place(p);
  return p;
}

}  // namespace

void check_mask2former_size(const Mask2FormerSize& size) {
  if (size.resize < 1 || size.target_height < 0 || size.target_width < 0 ||
      (size.target_height == 0) != (size.target_width == 0))
    fail(ErrorCode::kInvalidArgument, "Mask2Former post-processing: bad sizes (resize " + std::to_string(size.resize) +
                                          ", target " + std::to_string(size.target_height) + "x" +
                                          std::to_string(size.target_width) + ")");
}

BilinearTaps bilinear_taps(int in, int out) {
  BilinearTaps t;
  float scale = float(in) / float(out);
  for (int o = 0; o < out; ++o) {
    float src = std::max(scale * (float(o) + 0.5f) - 0.5f, 0.0f);
    int i = std::min(int(src), in - 1);
    float l = std::clamp(src - float(i), 0.0f, 1.0f);
    t.i0.push_back(i);
    t.i1.push_back(i + (i < in - 1 ? 1 : 0));
    t.l1.push_back(l);
    t.l0.push_back(1.0f - l);
  }
  return t;
}

std::vector<float> resize_planes_bilinear(const float* src, int planes, int h, int w, int height, int width) {
  std::vector<float> out(size_t(planes) * size_t(height) * size_t(width));
  BilinearTaps ty = bilinear_taps(h, height), tx = bilinear_taps(w, width);
  for (int p = 0; p < planes; ++p) {
    const float* plane = src + int64_t(p) * h * w;
    float* o = out.data() + int64_t(p) * height * width;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) o[int64_t(y) * width + x] = blend(plane, w, ty, tx, y, x);
  }
  return out;
}

Mask2FormerShape mask2former_shape(DType class_type, const Dims& c, DType mask_type, const Dims& m, bool allow_f16) {
  auto float_like = [&](DType t) { return t == DType::kF32 || (allow_f16 && t == DType::kF16); };
  bool ok = float_like(class_type) && float_like(mask_type) && c.size() == 3 && m.size() == 4 && c[0] == 1 &&
            m[0] == 1 && c[1] == m[1] && c[1] >= 1 && c[2] >= 2 && m[2] >= 1 && m[3] >= 1;
  if (!ok)
    fail(ErrorCode::kInvalidArgument, std::string("Mask2Former post-processing needs ") +
                                          (allow_f16 ? "float32 or float16" : "float32") +
                                          " class logits [1, Q, K+1] (K >= 1) and mask logits [1, Q, h, w]; got " +
                                          dims_to_string(c) + " " + dtype_name(class_type) + " and " +
                                          dims_to_string(m) + " " + dtype_name(mask_type));
  if (c[1] > 0x7fffffff || c[2] > 0x7fffffff || m[2] * m[3] > 0x7fffffff)
    fail(ErrorCode::kInvalidArgument, "Mask2Former post-processing: outputs " + dims_to_string(c) + " and " +
                                          dims_to_string(m) + " are too large");
  return {int(c[1]), int(c[2]) - 1, int(m[2]), int(m[3])};
}

Mask2FormerShape mask2former_shape(const Tensor& class_logits, const Tensor& mask_logits) {
  return mask2former_shape(class_logits.dtype(), class_logits.dims(), mask_logits.dtype(), mask_logits.dims(), false);
}

std::vector<float> mask2former_class_probs(const Tensor& class_logits) {
  const int q = int(class_logits.dim(1)), k = int(class_logits.dim(2)) - 1;
  std::vector<float> cls(size_t(q) * size_t(k));
  for (int i = 0; i < q; ++i) {
    std::vector<float> p = softmax(class_logits.data<float>() + int64_t(i) * (k + 1), k + 1);
    std::copy(p.begin(), p.end() - 1, cls.begin() + int64_t(i) * k);
  }
  return cls;
}

PanopticQueries panoptic_queries(const Tensor& class_logits, float score_threshold) {
  const int q = int(class_logits.dim(1)), k = int(class_logits.dim(2)) - 1;
  PanopticQueries out;
  for (int i = 0; i < q; ++i) {
    std::vector<float> p = softmax(class_logits.data<float>() + int64_t(i) * (k + 1), k + 1);
    int label = int(std::max_element(p.begin(), p.end()) - p.begin());  // first maximum
    float score = p[size_t(label)];
    if (label != k && score > score_threshold) {
      out.kept.push_back(i);
      out.scores.push_back(score);
      out.labels.push_back(label);
    }
  }
  return out;
}

std::vector<PanopticSegment> panoptic_segments(const PanopticQueries& queries, const std::vector<int64_t>& owned,
                                               const std::vector<int64_t>& original, const PanopticOptions& options,
                                               std::vector<int32_t>& id_of) {
  const size_t kept = queries.kept.size();
  KILN_ASSERT(owned.size() == kept && original.size() == kept);
  // transformers sets its running id to a fused label's earlier id, so a later new segment can
  // take an id already in use; here new ids always count up, fused labels reuse theirs.
  std::vector<PanopticSegment> segments;
  id_of.assign(kept, 0);
  std::map<int, int> fused_ids;
  int next_id = 0;
  for (size_t j = 0; j < kept; ++j) {
    if (owned[j] == 0 || original[j] == 0) continue;
    float ratio = float(owned[j]) / float(original[j]);  // torch: int64 / int64 → float32
    if (!(double(ratio) > options.overlap_threshold)) continue;
    const int label = queries.labels[j];
    bool fuse = options.fuse_labels.count(label) > 0;
    auto it = fused_ids.find(label);
    int id = it != fused_ids.end() ? it->second : ++next_id;
    if (fuse) fused_ids.emplace(label, id);
    id_of[j] = id;
    segments.push_back({id, label, queries.kept[j], queries.scores[j], owned[j], fuse});
  }
  return segments;
}

LabelMap mask2former_semantic(const Tensor& class_logits, const Tensor& mask_logits, const Mask2FormerSize& size) {
  Mask2FormerShape s = mask2former_shape(class_logits, mask_logits);
  check_mask2former_size(size);
  const int q = s.queries, k = s.classes, r = size.resize;
  const int64_t rr = int64_t(r) * r;
  std::vector<float> probs = mask_probs(mask_logits, s, r);
  std::vector<float> cls = mask2former_class_probs(class_logits);  // [Q, K]
  // einsum("qc,qhw->chw"): [K, rr] = clsᵀ [K, Q] · probs [Q, rr].
  std::vector<float> seg(size_t(k) * size_t(rr));
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, int(rr), q, 1.0f, cls.data(), k, probs.data(), int(rr), 0.0f,
              seg.data(), int(rr));

  LabelMap map;
  bool target = size.target_height > 0;
  map.height = target ? size.target_height : r;
  map.width = target ? size.target_width : r;
  map.ids.resize(size_t(map.height) * size_t(map.width));
  // The class scores (not the mask logits) are what transformers resizes to the target; the
  // argmax reads them pixel by pixel instead of materializing [K, H, W]. First maximum wins, as
  // torch.argmax.
  BilinearTaps ty = bilinear_taps(r, map.height), tx = bilinear_taps(r, map.width);
  for (int y = 0; y < map.height; ++y)
    for (int x = 0; x < map.width; ++x) {
      int best = 0;
      float best_v = 0;
      for (int c = 0; c < k; ++c) {
        const float* plane = seg.data() + int64_t(c) * rr;
        float v = target ? blend(plane, r, ty, tx, y, x) : plane[int64_t(y) * r + x];
        if (c == 0 || v > best_v) best = c, best_v = v;
      }
      map.ids[size_t(y) * size_t(map.width) + size_t(x)] = best;
    }
  return map;
}

Panoptic mask2former_panoptic(const Tensor& class_logits, const Tensor& mask_logits, const PanopticOptions& options,
                              const Mask2FormerSize& size) {
  Mask2FormerShape s = mask2former_shape(class_logits, mask_logits);
  check_mask2former_size(size);
  const int r = size.resize;
  const PanopticQueries queries = panoptic_queries(class_logits, options.score_threshold);
  const std::vector<int>& kept = queries.kept;
  const std::vector<float>& scores = queries.scores;

  Panoptic out;
  LabelMap& map = out.segments_map;
  bool target = size.target_height > 0;
  map.height = target ? size.target_height : r;
  map.width = target ? size.target_width : r;
  const int64_t n = int64_t(map.height) * map.width;
  map.ids.assign(size_t(n), 0);
  if (kept.empty()) return out;

  // Sigmoid at resize x resize, then (kept queries only) bilinear to the target, weighted.
  const int64_t plane = int64_t(s.height) * s.width;
  std::vector<float> logits(kept.size() * size_t(plane));
  for (size_t j = 0; j < kept.size(); ++j)
    std::copy_n(mask_logits.data<float>() + int64_t(kept[j]) * plane, plane, logits.begin() + int64_t(j) * plane);
  std::vector<float> probs = resize_planes_bilinear(logits.data(), int(kept.size()), s.height, s.width, r, r);
  sigmoid_in_place(probs);
  if (target) probs = resize_planes_bilinear(probs.data(), int(kept.size()), r, r, map.height, map.width);
  for (size_t j = 0; j < kept.size(); ++j)
    for (int64_t i = 0; i < n; ++i) probs[j * size_t(n) + size_t(i)] *= scores[j];

  // The owner of each pixel: the kept query with the largest score x prob (first on ties).
  std::vector<int32_t> owner(size_t(n), 0);
  std::vector<int64_t> owned(kept.size(), 0), original(kept.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    size_t best = 0;
    for (size_t j = 1; j < kept.size(); ++j)
      if (probs[j * size_t(n) + size_t(i)] > probs[best * size_t(n) + size_t(i)]) best = j;
    owner[size_t(i)] = int32_t(best);
    ++owned[best];
  }
  for (size_t j = 0; j < kept.size(); ++j)
    for (int64_t i = 0; i < n; ++i) original[j] += probs[j * size_t(n) + size_t(i)] >= options.mask_threshold;

  std::vector<int32_t> id_of;
  out.segments = panoptic_segments(queries, owned, original, options, id_of);
  for (int64_t i = 0; i < n; ++i) map.ids[size_t(i)] = id_of[size_t(owner[size_t(i)])];
  return out;
}

}  // namespace kiln
