// Mask2Former post-processing (io/mask2former_post.h) on hand-computed 4x4 cases: the resize
// equals the mask size, so the bilinear steps are identities and every expectation follows from
// the softmax scores and sigmoid masks written below. Resizing is checked on its own and against
// a double-precision reference on awkward shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "io/mask2former_post.h"
#include "kiln/status.h"

namespace kiln {
namespace {

constexpr int kSide = 4;
constexpr float kOn = 10.0f, kOff = -10.0f;  // mask logits: sigmoid ≈ 0.99995 / 0.0000454

// Class logits [1, Q, K+1] whose softmax is exactly proportional to the given rows.
Tensor classes(const std::vector<std::vector<float>>& probs) {
  std::vector<float> v;
  for (const auto& row : probs)
    for (float p : row) v.push_back(std::log(p));
  return Tensor::from_vector<float>({1, int64_t(probs.size()), int64_t(probs[0].size())}, v);
}

// Mask logits [1, Q, 4, 4], one 16-character picture per query: '#' on, '.' off, '+' = 1.0.
Tensor masks(const std::vector<std::string>& pictures) {
  std::vector<float> v;
  for (const auto& p : pictures)
    for (char c : p) v.push_back(c == '#' ? kOn : c == '+' ? 1.0f : kOff);
  return Tensor::from_vector<float>({1, int64_t(pictures.size()), kSide, kSide}, v);
}

Mask2FormerSize identity() { return {kSide, 0, 0}; }

std::vector<int32_t> rows(const std::string& s) {  // "1122" x 4 → ids
  std::vector<int32_t> ids;
  for (char c : s) ids.push_back(c - '0');
  return ids;
}

TEST(Mask2FormerResize, MatchesTorchBilinearHalfPixel) {
  // torch.nn.functional.interpolate([[0, 1], [2, 3]], size=(4, 4), mode="bilinear", align_corners=False)
  std::vector<float> src = {0, 1, 2, 3};
  std::vector<float> up = resize_planes_bilinear(src.data(), 1, 2, 2, 4, 4);
  std::vector<float> want = {0, 0.25f, 0.75f, 1, 0.5f, 0.75f, 1.25f, 1.5f, 1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3};
  EXPECT_EQ(up, want);
  // Down by 2: each output samples between two source pixels.
  std::vector<float> down = resize_planes_bilinear(want.data(), 1, 4, 4, 2, 2);
  EXPECT_EQ(down, (std::vector<float>{0.375f, 1.125f, 1.875f, 2.625f}));
  // Same size: exact copy, plane by plane.
  std::vector<float> two = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(resize_planes_bilinear(two.data(), 2, 1, 3, 1, 3), two);
}

TEST(Mask2FormerSemantic, ClassTimesMaskArgmax) {
  // Q0: class 0 at 0.7, on the left half; Q1: class 2 at 0.6, on the right half; Q2: mostly
  // no-object, everywhere: its 0.85 must not count for any class.
  Tensor c = classes({{0.7f, 0.1f, 0.1f, 0.1f}, {0.1f, 0.1f, 0.6f, 0.2f}, {0.05f, 0.05f, 0.05f, 0.85f}});
  Tensor m = masks({"##..##..##..##..", "..##..##..##..##", "################"});
  LabelMap map = mask2former_semantic(c, m, identity());
  ASSERT_EQ(map.width, 4);
  ASSERT_EQ(map.height, 4);
  EXPECT_EQ(map.ids, rows("0022002200220022"));
}

TEST(Mask2FormerSemantic, TiesGoToTheFirstClass) {
  // One query with equal probability for every real class: every pixel ties, torch.argmax takes 0.
  Tensor c = classes({{0.2f, 0.2f, 0.2f, 0.4f}});
  Tensor m = masks({"##++....########"});
  EXPECT_EQ(mask2former_semantic(c, m, identity()).ids, std::vector<int32_t>(16, 0));
  // Two more queries break the tie: class 1 on the first row, class 0 below it.
  Tensor c2 = classes({{0.2f, 0.2f, 0.2f, 0.4f}, {0.1f, 0.8f, 0.05f, 0.05f}, {0.8f, 0.1f, 0.05f, 0.05f}});
  Tensor m2 = masks({"################", "####............", "....############"});
  EXPECT_EQ(mask2former_semantic(c2, m2, identity()).ids, rows("1111000000000000"));
}

TEST(Mask2FormerSemantic, DefaultSizeIsTransformers384AndTargetResizes) {
  Tensor c = classes({{0.7f, 0.1f, 0.1f, 0.1f}, {0.1f, 0.1f, 0.6f, 0.2f}});
  Tensor m = masks({"##..##..##..##..", "..##..##..##..##"});
  LabelMap at384 = mask2former_semantic(c, m);
  EXPECT_EQ(at384.width, 384);
  EXPECT_EQ(at384.height, 384);
  EXPECT_EQ(at384.ids[0], 0);
  EXPECT_EQ(at384.ids[383], 2);
  LabelMap small = mask2former_semantic(c, m, {384, 3, 10});  // height 3, width 10
  ASSERT_EQ(small.height, 3);
  ASSERT_EQ(small.width, 10);
  for (int y = 0; y < 3; ++y) {
    EXPECT_EQ(small.ids[size_t(y) * 10], 0);
    EXPECT_EQ(small.ids[size_t(y) * 10 + 9], 2);
  }
}

// The semantic map computed in double from the definitions, on random logits of awkward sizes;
// pixels whose two best classes are within 1e-4 are left out (float vs double may swap them).
TEST(Mask2FormerSemantic, AgreesWithDoubleReferenceOnAwkwardShapes) {
  const int q = 5, k = 4, h = 3, w = 5, r = 7, th = 5, tw = 9;
  std::mt19937 rng(7);
  std::normal_distribution<float> n(0.0f, 2.0f);
  std::vector<float> cv(size_t(q) * (k + 1)), mv(size_t(q) * h * w);
  for (float& v : cv) v = n(rng);
  for (float& v : mv) v = n(rng);
  Tensor c = Tensor::from_vector<float>({1, q, k + 1}, cv), m = Tensor::from_vector<float>({1, q, h, w}, mv);
  LabelMap got = mask2former_semantic(c, m, {r, th, tw});

  auto lerp1d = [](int in, int out, int o, int& i0, int& i1, double& l) {  // torch's taps, in double
    double src = std::max((o + 0.5) * double(in) / double(out) - 0.5, 0.0);
    i0 = std::min(int(src), in - 1);
    i1 = i0 + (i0 < in - 1);
    l = src - i0;
  };
  auto resize = [&](const std::vector<double>& p, int ih, int iw, int oh, int ow) {
    std::vector<double> o(size_t(oh) * ow);
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x) {
        int y0, y1, x0, x1;
        double ly, lx;
        lerp1d(ih, oh, y, y0, y1, ly);
        lerp1d(iw, ow, x, x0, x1, lx);
        auto at = [&](int yy, int xx) { return p[size_t(yy) * iw + xx]; };
        o[size_t(y) * ow + x] = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) + ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
      }
    return o;
  };
  std::vector<std::vector<double>> score(k, std::vector<double>(size_t(r) * r, 0.0));
  for (int i = 0; i < q; ++i) {
    double sum = 0;
    for (int j = 0; j <= k; ++j) sum += std::exp(double(cv[size_t(i) * (k + 1) + j]));
    std::vector<double> plane(mv.begin() + i * h * w, mv.begin() + (i + 1) * h * w);
    std::vector<double> up = resize(plane, h, w, r, r);
    for (int j = 0; j < k; ++j)
      for (size_t p = 0; p < up.size(); ++p)
        score[size_t(j)][p] += std::exp(double(cv[size_t(i) * (k + 1) + j])) / sum / (1 + std::exp(-up[p]));
  }
  for (auto& s : score) s = resize(s, r, r, th, tw);
  int compared = 0;
  for (size_t p = 0; p < size_t(th) * tw; ++p) {
    std::vector<double> v;
    for (int j = 0; j < k; ++j) v.push_back(score[size_t(j)][p]);
    int best = int(std::max_element(v.begin(), v.end()) - v.begin());
    std::vector<double> sorted = v;
    std::sort(sorted.rbegin(), sorted.rend());
    if (sorted[0] - sorted[1] < 1e-4) continue;
    ++compared;
    EXPECT_EQ(got.ids[p], best) << "pixel " << p;
  }
  EXPECT_GT(compared, th * tw * 9 / 10);
}

// Panoptic: Q0 class 0 (0.9) on the left, Q1 class 2 (0.85) on the right, both on rows 0-2;
// Q2 class 1 (0.79) on row 3; Q3 no-object (0.97) everywhere.
struct FourQueries {
  Tensor c = classes({{0.9f, 0.04f, 0.03f, 0.03f},
                      {0.05f, 0.05f, 0.85f, 0.05f},
                      {0.07f, 0.79f, 0.07f, 0.07f},
                      {0.01f, 0.01f, 0.01f, 0.97f}});
  Tensor m = masks({"##..##..##......", "..##..##..##....", "............####", "################"});
};

TEST(Mask2FormerPanoptic, ScoreThresholdAndNoObject) {
  FourQueries f;
  PanopticOptions o;
  o.score_threshold = 0.8f;  // Q2 (0.79) is dropped; Q3 is no-object whatever its score
  Panoptic p = mask2former_panoptic(f.c, f.m, o, identity());
  // Row 3 then belongs to Q0: its 0.9 x sigmoid(-10) beats Q1's 0.85 x sigmoid(-10). Q0 owns 10
  // pixels against an original area of 6 — a ratio above 1 passes.
  EXPECT_EQ(p.segments_map.ids, rows("1122112211221111"));
  ASSERT_EQ(p.segments.size(), 2u);
  EXPECT_EQ(p.segments[0].id, 1);
  EXPECT_EQ(p.segments[0].label, 0);
  EXPECT_EQ(p.segments[0].query, 0);
  EXPECT_FLOAT_EQ(p.segments[0].score, 0.9f);
  EXPECT_EQ(p.segments[0].area, 10);
  EXPECT_EQ(p.segments[1].id, 2);
  EXPECT_EQ(p.segments[1].label, 2);
  EXPECT_EQ(p.segments[1].query, 1);
  EXPECT_EQ(p.segments[1].area, 6);

  o.score_threshold = 0.7f;  // Q2 is kept and takes row 3 as segment 3
  p = mask2former_panoptic(f.c, f.m, o, identity());
  EXPECT_EQ(p.segments_map.ids, rows("1122112211223333"));
  ASSERT_EQ(p.segments.size(), 3u);
  EXPECT_EQ(p.segments[2].label, 1);
  EXPECT_EQ(p.segments[2].area, 4);
  EXPECT_FLOAT_EQ(p.segments[2].score, 0.79f);
  for (const auto& s : p.segments) EXPECT_FALSE(s.fused);
}

TEST(Mask2FormerPanoptic, NoQueryKeptLeavesAnEmptyMap) {
  FourQueries f;
  PanopticOptions o;
  o.score_threshold = 0.99f;
  Panoptic p = mask2former_panoptic(f.c, f.m, o, {kSide, 3, 5});
  EXPECT_TRUE(p.segments.empty());
  EXPECT_EQ(p.segments_map.width, 5);
  EXPECT_EQ(p.segments_map.ids, std::vector<int32_t>(15, 0));
}

// Q2 (class 1, 0.95) is sure of pixel (0,0) only; four more pixels pass the mask threshold
// (0.95 x sigmoid(1) = 0.69) but Q0's 0.9 x sigmoid(10) takes them: it owns 1 of its 5.
struct Covered {
  Tensor c = classes({{0.9f, 0.04f, 0.03f, 0.03f}, {0.05f, 0.05f, 0.85f, 0.05f}, {0.01f, 0.95f, 0.02f, 0.02f}});
  Tensor m = masks({"##..##..##..##..", "..##..##..##..##", "#+..+...+...+..."});
};

TEST(Mask2FormerPanoptic, OverlapFilterDropsAMostlyCoveredSegment) {
  Covered f;
  Panoptic p = mask2former_panoptic(f.c, f.m, {}, identity());
  // Q2's 1/5 ≤ 0.8: dropped, and its pixel belongs to no segment. Q0 owns 7 of its 8 (0.875).
  EXPECT_EQ(p.segments_map.ids, rows("0122112211221122"));
  ASSERT_EQ(p.segments.size(), 2u);
  EXPECT_EQ(p.segments[0].area, 7);
  EXPECT_EQ(p.segments[1].area, 8);

  PanopticOptions loose;
  loose.overlap_threshold = 0.1;  // 1/5 passes now
  p = mask2former_panoptic(f.c, f.m, loose, identity());
  EXPECT_EQ(p.segments_map.ids, rows("3122112211221122"));
  ASSERT_EQ(p.segments.size(), 3u);
  EXPECT_EQ(p.segments[2].label, 1);
  EXPECT_EQ(p.segments[2].area, 1);

  PanopticOptions strict;
  strict.overlap_threshold = 0.875;  // the ratio must exceed it: Q0's 7/8 fails, Q1 becomes id 1
  p = mask2former_panoptic(f.c, f.m, strict, identity());
  EXPECT_EQ(p.segments_map.ids, rows("0011001100110011"));
  ASSERT_EQ(p.segments.size(), 1u);
  EXPECT_EQ(p.segments[0].id, 1);
  EXPECT_EQ(p.segments[0].label, 2);
}

TEST(Mask2FormerPanoptic, TiesGoToTheFirstQuery) {
  // Same score, same mask, different labels: Q0 owns every pixel, Q1 owns none and is dropped.
  Tensor c = classes({{0.9f, 0.04f, 0.03f, 0.03f}, {0.04f, 0.9f, 0.03f, 0.03f}});
  Tensor m = masks({"########........", "########........"});
  Panoptic p = mask2former_panoptic(c, m, {}, identity());
  EXPECT_EQ(p.segments_map.ids, std::vector<int32_t>(16, 1));  // off pixels too: 0.9 x 4.5e-5 ties
  ASSERT_EQ(p.segments.size(), 1u);
  EXPECT_EQ(p.segments[0].label, 0);
  EXPECT_EQ(p.segments[0].area, 16);
}

TEST(Mask2FormerPanoptic, FusedLabelsShareAnIdAndNewIdsStayUnique) {
  // Columns: Q0 class 0, Q1 class 2, Q2 class 0, Q3 class 1.
  Tensor c = classes({{0.9f, 0.04f, 0.03f, 0.03f},
                      {0.05f, 0.05f, 0.85f, 0.05f},
                      {0.88f, 0.04f, 0.04f, 0.04f},
                      {0.02f, 0.93f, 0.03f, 0.02f}});
  Tensor m = masks({"#...#...#...#...", ".#...#...#...#..", "..#...#...#...#.", "...#...#...#...#"});
  Panoptic plain = mask2former_panoptic(c, m, {}, identity());
  EXPECT_EQ(plain.segments_map.ids, rows("1234123412341234"));
  PanopticOptions fuse;
  fuse.fuse_labels = {0};
  Panoptic p = mask2former_panoptic(c, m, fuse, identity());
  // transformers would number Q3 as 2 again (its running id falls back to the fused one).
  EXPECT_EQ(p.segments_map.ids, rows("1213121312131213"));
  ASSERT_EQ(p.segments.size(), 4u);
  EXPECT_EQ(p.segments[2].id, 1);
  EXPECT_TRUE(p.segments[2].fused);
  EXPECT_TRUE(p.segments[0].fused);
  EXPECT_FALSE(p.segments[1].fused);
  EXPECT_EQ(p.segments[3].id, 3);
}

TEST(Mask2FormerPanoptic, ResizedMapIsConsistentWithItsSegments) {
  std::mt19937 rng(11);
  std::normal_distribution<float> n(0.0f, 3.0f);
  const int q = 6, k = 3, h = 5, w = 3;
  std::vector<float> cv(size_t(q) * (k + 1)), mv(size_t(q) * h * w);
  for (float& v : cv) v = n(rng);
  for (float& v : mv) v = n(rng);
  PanopticOptions o;
  o.score_threshold = 0.3f;
  o.overlap_threshold = 0.3;
  Panoptic p = mask2former_panoptic(Tensor::from_vector<float>({1, q, k + 1}, cv),
                                    Tensor::from_vector<float>({1, q, h, w}, mv), o, {11, 13, 7});
  ASSERT_EQ(p.segments_map.ids.size(), 13u * 7u);
  ASSERT_FALSE(p.segments.empty());
  for (size_t i = 0; i < p.segments.size(); ++i) {
    EXPECT_EQ(p.segments[i].id, int(i) + 1);
    EXPECT_EQ(std::count(p.segments_map.ids.begin(), p.segments_map.ids.end(), p.segments[i].id), p.segments[i].area);
    EXPECT_GT(p.segments[i].score, 0.3f);
  }
}

TEST(Mask2FormerPost, RejectsMismatchedOutputs) {
  Tensor c = classes({{0.9f, 0.1f}});
  EXPECT_THROW(mask2former_semantic(c, masks({"################", "################"})), Error);
  EXPECT_THROW(mask2former_semantic(Tensor::from_vector<float>({1, 1, 1}, {0.0f}), masks({"################"})), Error);
  EXPECT_THROW(mask2former_panoptic(c, masks({"################"}), {}, {4, 3, 0}), Error);
}

TEST(Mask2FormerPost, ShapeCheckOnDimsAllowsFloat16WhenAsked) {
  Mask2FormerShape s = mask2former_shape(DType::kF16, {1, 5, 4}, DType::kF32, {1, 5, 7, 9}, true);
  EXPECT_EQ(s.queries, 5);
  EXPECT_EQ(s.classes, 3);
  EXPECT_EQ(s.height, 7);
  EXPECT_EQ(s.width, 9);
  for (bool allow : {false, true}) {
    try {
      mask2former_shape(allow ? DType::kI64 : DType::kF16, {1, 5, 4}, DType::kF32, {1, 5, 7, 9}, allow);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(allow ? "float32 or float16" : "needs float32 class"), std::string::npos)
          << e.what();
    }
  }
}

TEST(Mask2FormerPost, BilinearTapsAreTorchsHalfPixelTaps) {
  // 2 -> 4: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (past the last pixel: both taps on
  // it, weights as computed).
  BilinearTaps t = bilinear_taps(2, 4);
  EXPECT_EQ(t.i0, (std::vector<int>{0, 0, 0, 1}));
  EXPECT_EQ(t.i1, (std::vector<int>{1, 1, 1, 1}));
  EXPECT_EQ(t.l1, (std::vector<float>{0.0f, 0.25f, 0.75f, 0.25f}));
  EXPECT_EQ(t.l0, (std::vector<float>{1.0f, 0.75f, 0.25f, 0.75f}));
  // Same size: each output its own source, weight 1.
  BilinearTaps same = bilinear_taps(3, 3);
  EXPECT_EQ(same.i0, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(same.l0, (std::vector<float>{1, 1, 1}));
}

TEST(Mask2FormerPost, ClassProbsAndPanopticQueriesFromTheSoftmax) {
  Tensor c = classes({{0.7f, 0.1f, 0.1f, 0.1f}, {0.1f, 0.1f, 0.2f, 0.6f}, {0.2f, 0.55f, 0.15f, 0.1f}});
  std::vector<float> p = mask2former_class_probs(c);
  ASSERT_EQ(p.size(), 9u);  // [Q = 3, K = 3]: no-object dropped
  EXPECT_NEAR(p[0], 0.7f, 1e-6);
  EXPECT_NEAR(p[5], 0.2f, 1e-6);
  EXPECT_NEAR(p[7], 0.55f, 1e-6);
  PanopticQueries q = panoptic_queries(c, 0.5f);  // Q1's best is no-object
  EXPECT_EQ(q.kept, (std::vector<int>{0, 2}));
  EXPECT_EQ(q.labels, (std::vector<int>{0, 1}));
  EXPECT_NEAR(q.scores[1], 0.55f, 1e-6);
  EXPECT_EQ(panoptic_queries(c, 0.6f).kept, (std::vector<int>{0}));
}

TEST(Mask2FormerPost, PanopticSegmentsFromCounts) {
  PanopticQueries q{{3, 5, 8, 9, 12}, {0.9f, 0.8f, 0.7f, 0.6f, 0.95f}, {4, 2, 4, 2, 1}};
  PanopticOptions o;
  o.fuse_labels = {4};
  // 5: owns nothing; 9: 7 of 10 is not above 0.8; 12: nothing above the mask threshold.
  std::vector<int64_t> owned = {10, 0, 6, 7, 3}, original = {12, 4, 6, 10, 0};
  std::vector<int32_t> id_of;
  std::vector<PanopticSegment> s = panoptic_segments(q, owned, original, o, id_of);
  EXPECT_EQ(id_of, (std::vector<int32_t>{1, 0, 1, 0, 0}));  // label 4 fused: query 8 reuses id 1
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].query, 3);
  EXPECT_EQ(s[0].area, 10);
  EXPECT_TRUE(s[0].fused);
  EXPECT_EQ(s[1].id, 1);
  EXPECT_EQ(s[1].query, 8);
  EXPECT_EQ(s[1].score, 0.7f);
  o.overlap_threshold = 0.65;  // 7 / 10 passes now, as a new id
  panoptic_segments(q, owned, original, o, id_of);
  EXPECT_EQ(id_of, (std::vector<int32_t>{1, 0, 1, 2, 0}));
}

}  // namespace
}  // namespace kiln
