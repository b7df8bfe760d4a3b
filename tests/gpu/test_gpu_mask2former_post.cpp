// Mask2Former's maps on the GPU (runtime/cuda/post/mask2former_post_cuda.h) against the CPU
// reference (io/mask2former_post.h) on random outputs of awkward shapes, float32 and float16
// (the CPU gets the same values widened): semantic labels agree on at least 99.99% of the pixels
// (only near-ties may move: cuBLASLt and OpenBLAS sum the class scores in different orders; the
// measured agreement is printed), equal class scores pick the first class on both; panoptic
// segments and maps are identical.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "gpu_compare.h"
#include "io/mask2former_post.h"
#include "kiln/status.h"
#include "runtime/cuda/cuda_session.h"
#include "runtime/cuda/post/mask2former_post_cuda.h"

namespace kiln::gpu_test {
namespace {

struct Case {
  int queries, classes, h, w;  // classes: K, without no-object
  Mask2FormerSize size;
};

const std::vector<Case> kCases = {
    {7, 3, 5, 9, {16, 0, 0}},         // no target: the map at resize x resize
    {7, 3, 5, 9, {16, 23, 11}},       // upsampled to an odd target
    {1, 1, 1, 1, {5, 3, 4}},          // one query, one class, one mask pixel
    {33, 19, 17, 13, {64, 65, 63}},   // Cityscapes' classes, sides on both sides of 64
    {100, 133, 24, 24, {384, 90, 120}},  // COCO panoptic's queries and classes at transformers' 384
    {20, 150, 31, 7, {40, 200, 9}},   // ADE20K's classes, a narrow target
};

// The float32 tensor holding t's values (float16 widens exactly).
Tensor widened(const Tensor& t) {
  if (t.dtype() == DType::kF32) return t;
  Tensor f(DType::kF32, t.dims());
  for (int64_t i = 0; i < t.numel(); ++i) f.data<float>()[i] = float(t.at_double(i));
  return f;
}

// Class logits where every query leans towards one random class (sometimes no-object) by
// `lean`, so panoptic keeps some queries and drops others.
Tensor class_logits(DType dt, int q, int k, double lean, uint64_t seed) {
  Tensor t = random_tensor(DType::kF32, {1, q, k + 1}, seed, -2, 2);
  std::mt19937 rng{uint32_t(seed)};
  for (int i = 0; i < q; ++i) t.data<float>()[int64_t(i) * (k + 1) + int64_t(rng() % uint32_t(k + 1))] += float(lean);
  if (dt == DType::kF32) return t;
  Tensor h(DType::kF16, t.dims());
  for (int64_t i = 0; i < t.numel(); ++i) h.data<f16>()[i] = f16{float_to_f16(t.data<float>()[i])};
  return h;
}

struct Outputs {
  Tensor classes, masks;  // as the model wrote them (dt)
};

// Mask logits shaped like a model's: each query a blob (positive inside a random disc, falling
// off outside it) plus noise, so queries overlap, compete for pixels and some own most of theirs.
Tensor blob_masks(DType dt, const Case& c, uint64_t seed) {
  Tensor t = random_tensor(DType::kF32, {1, c.queries, c.h, c.w}, seed, -1, 1);
  std::mt19937 rng{uint32_t(seed)};
  std::uniform_real_distribution<float> unit(0, 1);
  for (int q = 0; q < c.queries; ++q) {
    const float cy = unit(rng) * float(c.h), cx = unit(rng) * float(c.w);
    const float radius = (0.1f + 0.4f * unit(rng)) * float(std::max(c.h, c.w));
    for (int y = 0; y < c.h; ++y)
      for (int x = 0; x < c.w; ++x)
        t.data<float>()[(int64_t(q) * c.h + y) * c.w + x] += 3 * (radius - std::hypot(float(y) - cy, float(x) - cx));
  }
  if (dt == DType::kF32) return t;
  Tensor h(DType::kF16, t.dims());
  for (int64_t i = 0; i < t.numel(); ++i) h.data<f16>()[i] = f16{float_to_f16(t.data<float>()[i])};
  return h;
}

Outputs random_outputs(DType dt, const Case& c, double lean, uint64_t seed) {
  return {class_logits(dt, c.queries, c.classes, lean, seed), random_tensor(dt, {1, c.queries, c.h, c.w}, seed + 1, -6, 6)};
}

Outputs blob_outputs(DType dt, const Case& c, double lean, uint64_t seed) {
  return {class_logits(dt, c.queries, c.classes, lean, seed), blob_masks(dt, c, seed + 1)};
}

std::string describe(const Case& c, DType dt) {
  return "Q " + std::to_string(c.queries) + " K " + std::to_string(c.classes) + " mask " + std::to_string(c.h) + "x" +
         std::to_string(c.w) + " resize " + std::to_string(c.size.resize) + " target " +
         std::to_string(c.size.target_height) + "x" + std::to_string(c.size.target_width) + " " + dtype_name(dt);
}

TEST(GpuMask2FormerPost, SemanticAgreesOnAtLeast9999PerMille) {
  CudaSession session;
  int64_t total = 0, agree_total = 0;
  uint64_t seed = 9600;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const Case& c : kCases) {
      Outputs o = random_outputs(dt, c, 2.0, seed);
      seed += 2;
      LabelMap want = mask2former_semantic(widened(o.classes), widened(o.masks), c.size);
      LabelMap got = mask2former_semantic_cuda(session, to_device(o.classes, session.stream()),
                                               to_device(o.masks, session.stream()), c.size);
      ASSERT_EQ(got.width, want.width) << describe(c, dt);
      ASSERT_EQ(got.height, want.height) << describe(c, dt);
      ASSERT_EQ(got.ids.size(), want.ids.size());
      int64_t agree = 0;
      for (size_t i = 0; i < want.ids.size(); ++i) {
        ASSERT_TRUE(got.ids[i] >= 0 && got.ids[i] < c.classes) << describe(c, dt) << " pixel " << i;
        agree += got.ids[i] == want.ids[i];
      }
      std::printf("  semantic %s: %lld of %zu pixels agree (%.5f%%)\n", describe(c, dt).c_str(), (long long)agree,
                  want.ids.size(), 100.0 * double(agree) / double(want.ids.size()));
      total += int64_t(want.ids.size());
      agree_total += agree;
    }
  const double fraction = double(agree_total) / double(total);
  std::printf("  semantic: %lld of %lld pixels agree (%.5f%%)\n", (long long)agree_total, (long long)total,
              100 * fraction);
  RecordProperty("semantic_agreement", std::to_string(fraction));
  EXPECT_GE(fraction, 0.9999);
}

TEST(GpuMask2FormerPost, SemanticEqualScoresPickTheFirstClass) {
  // Equal class logits and one query: every class score is the same single product, an exact
  // tie on both backends (with more queries the GEMMs may round rows apart: OpenBLAS's edge
  // kernels do), so torch.argmax's first maximum, class 0, everywhere.
  CudaSession session;
  for (DType dt : {DType::kF32, DType::kF16}) {
    Case c{1, 5, 6, 7, {12, 13, 17}};
    Tensor classes(dt, {1, 1, 6});
    for (int64_t i = 0; i < classes.numel(); ++i) {
      if (dt == DType::kF16) classes.data<f16>()[i] = f16{float_to_f16(0.5f)};
      else classes.data<float>()[i] = 0.5f;
    }
    Tensor masks = random_tensor(dt, {1, 1, 6, 7}, 2, -3, 3);
    LabelMap want = mask2former_semantic(widened(classes), widened(masks), c.size);
    LabelMap got = mask2former_semantic_cuda(session, to_device(classes, session.stream()),
                                             to_device(masks, session.stream()), c.size);
    EXPECT_EQ(want.ids, std::vector<int32_t>(size_t(13 * 17), 0));
    EXPECT_EQ(got.ids, want.ids) << dtype_name(dt);
  }
}

void expect_same_panoptic(const Panoptic& got, const Panoptic& want, const std::string& what) {
  ASSERT_EQ(got.segments_map.width, want.segments_map.width) << what;
  ASSERT_EQ(got.segments_map.height, want.segments_map.height) << what;
  ASSERT_EQ(got.segments.size(), want.segments.size()) << what;
  for (size_t i = 0; i < want.segments.size(); ++i) {
    const PanopticSegment &g = got.segments[i], &w = want.segments[i];
    EXPECT_TRUE(g.id == w.id && g.label == w.label && g.query == w.query && g.area == w.area && g.fused == w.fused &&
                std::memcmp(&g.score, &w.score, sizeof(float)) == 0)
        << what << " segment " << i << ": GPU id " << g.id << " label " << g.label << " query " << g.query << " area "
        << g.area << " score " << g.score << "; CPU id " << w.id << " label " << w.label << " query " << w.query
        << " area " << w.area << " score " << w.score;
  }
  size_t differ = 0, first = 0;
  for (size_t i = 0; i < want.segments_map.ids.size(); ++i)
    if (got.segments_map.ids[i] != want.segments_map.ids[i] && !differ++) first = i;
  EXPECT_EQ(differ, 0u) << what << ": " << differ << " pixels differ, the first at " << first;
}

TEST(GpuMask2FormerPost, PanopticEqualsTheCpuExactly) {
  CudaSession session;
  uint64_t seed = 9700;
  int with_segments = 0;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const Case& c : kCases) {
      Outputs o = blob_outputs(dt, c, 6.0, seed);
      seed += 2;
      PanopticOptions plain;
      PanopticOptions loose;  // more kept queries, looser masks and overlaps, a fused class
      loose.score_threshold = 0.3f;
      loose.mask_threshold = 0.35f;
      loose.overlap_threshold = 0.5;
      loose.fuse_labels = {0, c.classes - 1};
      for (const PanopticOptions& opt : {plain, loose}) {
        Panoptic want = mask2former_panoptic(widened(o.classes), widened(o.masks), opt, c.size);
        Panoptic got = mask2former_panoptic_cuda(session, to_device(o.classes, session.stream()),
                                                 to_device(o.masks, session.stream()), opt, c.size);
        expect_same_panoptic(got, want, describe(c, dt) + " score threshold " + std::to_string(opt.score_threshold));
        if (HasFailure()) return;
        with_segments += !want.segments.empty();
      }
    }
  EXPECT_GE(with_segments, 12) << "too few cases produced segments to test anything";
}

TEST(GpuMask2FormerPost, PanopticWithNoQueryKeptIsAllZero) {
  CudaSession session;
  Case c{5, 4, 3, 3, {8, 10, 6}};
  Outputs o = random_outputs(DType::kF32, c, 0.0, 9800);
  PanopticOptions strict;
  strict.score_threshold = 1.0f;
  Panoptic got = mask2former_panoptic_cuda(session, to_device(o.classes, session.stream()),
                                           to_device(o.masks, session.stream()), strict, c.size);
  EXPECT_TRUE(got.segments.empty());
  EXPECT_EQ(got.segments_map.ids, std::vector<int32_t>(60, 0));
  expect_same_panoptic(got, mask2former_panoptic(o.classes, o.masks, strict, c.size), "none kept");
}

TEST(GpuMask2FormerPost, RefusesWhatTheCpuRefuses) {
  CudaSession session;
  auto dev = [&](DType dt, Dims d) { return to_device(random_tensor(dt, d, 3), session.stream()); };
  auto refuses = [&](const DeviceTensor& c, const DeviceTensor& m, Mask2FormerSize size, const char* fragment) {
    for (int task = 0; task < 2; ++task) {
      try {
        if (task == 0) mask2former_semantic_cuda(session, c, m, size);
        else mask2former_panoptic_cuda(session, c, m, {}, size);
        ADD_FAILURE() << "accepted; wanted " << fragment;
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
      }
    }
  };
  DeviceTensor masks = dev(DType::kF32, {1, 3, 4, 4});
  refuses(dev(DType::kF32, {1, 2, 5}), masks, {}, "[1, Q, K+1]");             // Q differs
  refuses(dev(DType::kF32, {1, 3, 1}), masks, {}, "[1, Q, K+1]");             // no real class
  refuses(dev(DType::kI64, {1, 3, 5}), masks, {}, "float32 or float16");
  refuses(dev(DType::kF32, {2, 3, 5}), dev(DType::kF32, {2, 3, 4, 4}), {}, "[1, Q, K+1]");
  refuses(dev(DType::kF32, {1, 3, 5}), masks, {384, 10, 0}, "bad sizes");
}

}  // namespace
}  // namespace kiln::gpu_test
