// Detection post-processing (io/detection_post.h) and box drawing (io/draw_boxes.h) against
// values worked out here: top-k order and ties, cxcywh -> xyxy per image size, float16 outputs,
// the padding mask's unpadded size, shape errors; outlines clipped to the picture.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "io/detection_post.h"
#include "io/draw_boxes.h"
#include "io/portable_sigmoid.h"
#include "ir/dtype.h"
#include "kiln/status.h"

namespace kiln {
namespace {

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

TEST(DetectionPost, TopKOverQueriesTimesClassesWithBoxesInPixels) {
  // 2 images, 3 queries, 2 classes.
  Tensor logits = Tensor::from_vector<float>({2, 3, 2}, {0.5f, -1.0f, 2.0f, 0.1f, -3.0f, 1.5f,  //
                                                         -2.0f, 4.0f, 0.0f, 0.0f, 1.0f, -5.0f});
  Tensor boxes = Tensor::from_vector<float>({2, 3, 4}, {0.5f, 0.5f, 0.2f, 0.4f, 0.25f, 0.75f, 0.5f, 0.5f,
                                                        0.1f, 0.2f, 0.3f, 0.4f,  //
                                                        0.5f, 0.5f, 1.0f, 1.0f, 0.4f, 0.6f, 0.2f, 0.2f,
                                                        0.9f, 0.1f, 0.2f, 0.2f});
  auto got = top_detections(logits, boxes, {{200, 100}, {10, 20}}, 3);
  ASSERT_EQ(got.size(), 2u);
  ASSERT_EQ(got[0].size(), 3u);
  // image 0: 2.0 (q1 c0), 1.5 (q2 c1), 0.5 (q0 c0)
  EXPECT_EQ(got[0][0].query, 1);
  EXPECT_EQ(got[0][0].label, 0);
  EXPECT_FLOAT_EQ(got[0][0].score, sigmoid(2.0f));
  EXPECT_EQ(got[0][1].query, 2);
  EXPECT_EQ(got[0][1].label, 1);
  EXPECT_EQ(got[0][2].query, 0);
  EXPECT_EQ(got[0][2].label, 0);
  // q1 of image 0: cx .25 cy .75 w .5 h .5 on 200 x 100 -> (0, 50, 100, 100)
  EXPECT_FLOAT_EQ(got[0][0].box[0], 0.0f);
  EXPECT_FLOAT_EQ(got[0][0].box[1], 50.0f);
  EXPECT_FLOAT_EQ(got[0][0].box[2], 100.0f);
  EXPECT_FLOAT_EQ(got[0][0].box[3], 100.0f);
  // image 1: 4.0 (q0 c1), 1.0 (q2 c0), then the tie 0.0 / 0.0 of q1: the lower index (c0) first
  EXPECT_EQ(got[1][0].query, 0);
  EXPECT_EQ(got[1][0].label, 1);
  EXPECT_EQ(got[1][1].query, 2);
  EXPECT_EQ(got[1][2].query, 1);
  EXPECT_EQ(got[1][2].label, 0);
  // q2 of image 1: cx .9 cy .1 w .2 h .2 on 10 x 20 -> (8, 0, 10, 4)
  EXPECT_NEAR(got[1][1].box[0], 8.0f, 1e-5);
  EXPECT_NEAR(got[1][1].box[1], 0.0f, 1e-5);
  EXPECT_NEAR(got[1][1].box[2], 10.0f, 1e-5);
  EXPECT_NEAR(got[1][1].box[3], 4.0f, 1e-5);
}

TEST(DetectionPost, KBeyondQueriesTimesClassesKeepsAllSorted) {
  std::mt19937 rng(7);
  std::normal_distribution<float> n(0, 2);
  const int q = 17, c = 5;
  std::vector<float> l(q * c), b(q * 4);
  for (float& v : l) v = n(rng);
  for (float& v : b) v = std::abs(n(rng)) / 8;
  auto got = top_detections(Tensor::from_vector<float>({1, q, c}, l), Tensor::from_vector<float>({1, q, 4}, b),
                            {{1, 1}}, 1000);
  ASSERT_EQ(got[0].size(), size_t(q * c));
  for (size_t i = 1; i < got[0].size(); ++i) EXPECT_GE(got[0][i - 1].score, got[0][i].score);
  for (const Detection& d : got[0]) EXPECT_FLOAT_EQ(d.score, sigmoid(l[size_t(d.query * c + d.label)]));
}

TEST(DetectionPost, Float16OutputsReadAsFloat) {
  auto half = [](std::vector<float> v, Dims dims) {
    std::vector<f16> h;
    for (float x : v) h.push_back(f16{float_to_f16(x)});
    return Tensor::from_vector<f16>(dims, h);
  };
  Tensor logits = half({1.0f, -1.0f}, {1, 1, 2});
  Tensor boxes = half({0.5f, 0.5f, 0.25f, 0.5f}, {1, 1, 4});
  auto got = top_detections(logits, boxes, {{8, 4}}, 1);
  ASSERT_EQ(got[0].size(), 1u);
  EXPECT_EQ(got[0][0].label, 0);
  EXPECT_FLOAT_EQ(got[0][0].box[0], 3.0f);
  EXPECT_FLOAT_EQ(got[0][0].box[1], 1.0f);
  EXPECT_FLOAT_EQ(got[0][0].box[2], 5.0f);
  EXPECT_FLOAT_EQ(got[0][0].box[3], 3.0f);
}

TEST(DetectionPost, RefusesMismatchedShapes) {
  Tensor logits(DType::kF32, {1, 3, 2});
  auto refuses = [](const Tensor& l, const Tensor& b, std::vector<BoxScale> s, int64_t k, const char* fragment) {
    try {
      top_detections(l, b, s, k);
      ADD_FAILURE() << "accepted; wanted " << fragment;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  refuses(logits, Tensor(DType::kF32, {1, 3, 5}), {{1, 1}}, 1, "[batch, queries, 4]");
  refuses(logits, Tensor(DType::kF32, {1, 2, 4}), {{1, 1}}, 1, "do not match");
  refuses(Tensor(DType::kF32, {3, 2}), Tensor(DType::kF32, {1, 3, 4}), {{1, 1}}, 1, "[batch, queries, classes]");
  refuses(Tensor(DType::kI64, {1, 3, 2}), Tensor(DType::kF32, {1, 3, 4}), {{1, 1}}, 1, "float32 or float16");
  refuses(logits, Tensor(DType::kF32, {1, 3, 4}), {}, 1, "image sizes");
  refuses(logits, Tensor(DType::kF32, {1, 3, 4}), {{1, 1}}, 0, "at least 1");
}

TEST(DetectionPost, ScoresAreThePortableSigmoidAndNanRanksFirst) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // 20 and 30 both score exactly 1.0f: the order among them is by index, not by logit.
  Tensor logits = Tensor::from_vector<float>({1, 2, 3}, {0.3f, 30.0f, nan, 20.0f, -1.0f, 1.5f});
  Tensor boxes = Tensor::from_vector<float>({1, 2, 4}, {0.5f, 0.5f, 0.2f, 0.2f, 0.4f, 0.4f, 0.2f, 0.2f});
  auto got = top_detections(logits, boxes, {{10, 10}}, 6);
  ASSERT_EQ(got[0].size(), 6u);
  std::vector<int> order;
  for (const Detection& d : got[0]) order.push_back(int(d.query * 3 + d.label));
  EXPECT_EQ(order, (std::vector<int>{2, 1, 3, 5, 0, 4}));
  EXPECT_TRUE(std::isnan(got[0][0].score));
  EXPECT_EQ(got[0][1].score, 1.0f);
  EXPECT_EQ(got[0][2].score, 1.0f);
  for (size_t i = 3; i < 6; ++i) {
    const Detection& d = got[0][i];
    EXPECT_EQ(d.score, portable_sigmoid(logits.data<float>()[d.query * 3 + d.label]));
  }
}

TEST(DetectionPost, BoxToPixelsAndTheChecksOnDims) {
  std::array<float, 4> b = box_to_pixels(0.25f, 0.75f, 0.5f, 0.5f, {200, 100});
  EXPECT_EQ(b, (std::array<float, 4>{0.0f, 50.0f, 100.0f, 100.0f}));
  EXPECT_NO_THROW(check_detection_outputs(DType::kF16, {2, 5, 3}, DType::kF32, {2, 5, 4}));
  EXPECT_THROW(check_detection_outputs(DType::kF32, {2, 5, 3}, DType::kF32, {2, 4, 4}), Error);
  EXPECT_NO_THROW(check_detection_request(2, 2, 1));
  EXPECT_THROW(check_detection_request(2, 1, 1), Error);
  EXPECT_THROW(check_detection_request(2, 2, 0), Error);
}

TEST(DetectionPost, UnpaddedSizesFromBoolAndIntegerMasks) {
  // 2 images of 3 x 4: image 0 valid 2 x 3, image 1 valid 3 x 1
  std::vector<int64_t> keep = {1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0,  //
                               1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0};
  Tensor ints = Tensor::from_vector<int64_t>({2, 3, 4}, keep);
  Tensor bools(DType::kBool, {2, 3, 4});
  for (size_t i = 0; i < keep.size(); ++i) bools.data<bool>()[i] = keep[i] == 0;
  for (const auto& s : {unpadded_sizes(ints, false), unpadded_sizes(bools, true)}) {
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0].width, 3);
    EXPECT_EQ(s[0].height, 2);
    EXPECT_EQ(s[1].width, 1);
    EXPECT_EQ(s[1].height, 3);
  }
  Tensor all_padding(DType::kBool, {1, 2, 2});
  std::fill_n(all_padding.data<bool>(), 4, true);
  EXPECT_THROW(unpadded_sizes(all_padding, true), Error);
  EXPECT_THROW(unpadded_sizes(Tensor(DType::kBool, {4, 4}), true), Error);
}

TEST(DetectionPost, JsonListsLabelScoreBoxQuery) {
  Detection d;
  d.query = 7;
  d.label = 3;
  d.score = 0.25f;
  d.box = {1, 2, 3, 4};
  nlohmann::json j = detections_to_json({d});
  ASSERT_TRUE(j.is_array());
  EXPECT_EQ(j[0]["label"], 3);
  EXPECT_EQ(j[0]["query"], 7);
  EXPECT_DOUBLE_EQ(j[0]["score"].get<double>(), 0.25);
  EXPECT_EQ(j[0]["box"], nlohmann::json({1.0, 2.0, 3.0, 4.0}));
}

// Which pixels of a w x h picture are painted.
std::vector<int> painted(const Image& img) {
  std::vector<int> p(size_t(img.width * img.height));
  for (size_t i = 0; i < p.size(); ++i) p[i] = img.rgb[i * 3] != 0;
  return p;
}

TEST(DrawBoxes, OutlineInsideTheBoxClippedToThePicture) {
  Image img{7, 5, std::vector<uint8_t>(7 * 5 * 3, 0)};
  draw_box(img, {1.0f, 1.0f, 5.0f, 4.0f}, {255, 0, 0}, 1);  // pixels 1..4 x 1..3
  std::vector<int> want = {0, 0, 0, 0, 0, 0, 0,  //
                           0, 1, 1, 1, 1, 0, 0,  //
                           0, 1, 0, 0, 1, 0, 0,  //
                           0, 1, 1, 1, 1, 0, 0,  //
                           0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(painted(img), want);

  Image clipped{7, 5, std::vector<uint8_t>(7 * 5 * 3, 0)};
  draw_box(clipped, {-3.0f, 2.2f, 30.0f, 9.0f}, {9, 9, 9}, 2);  // left, right, bottom edges outside
  std::vector<int> want_clipped = {0, 0, 0, 0, 0, 0, 0,  //
                                   0, 0, 0, 0, 0, 0, 0,  //
                                   1, 1, 1, 1, 1, 1, 1,  //
                                   1, 1, 1, 1, 1, 1, 1,  //
                                   0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(painted(clipped), want_clipped);
  // Coordinates far beyond int's range draw the same as edges just outside the picture.
  Image huge{7, 5, std::vector<uint8_t>(7 * 5 * 3, 0)};
  draw_box(huge, {-3e30f, 2.2f, 3e30f, 9e20f}, {9, 9, 9}, 2);
  EXPECT_EQ(painted(huge), want_clipped);
  EXPECT_EQ(clipped.rgb[(2 * 7 + 3) * 3 + 1], 9);
}

TEST(DrawBoxes, NothingForOutsideEmptyOrNonFiniteBoxes) {
  Image img{6, 4, std::vector<uint8_t>(6 * 4 * 3, 0)};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  draw_box(img, {7.0f, 0.0f, 9.0f, 3.0f}, {255, 255, 255}, 1);
  draw_box(img, {1.0f, 1.0f, 1.0f, 1.0f}, {255, 255, 255}, 1);
  draw_box(img, {nan, 0.0f, 3.0f, 3.0f}, {255, 255, 255}, 1);
  draw_box(img, {-5.0f, -5.0f, -1.0f, -1.0f}, {255, 255, 255}, 1);
  EXPECT_EQ(painted(img), std::vector<int>(24, 0));
  // A thick outline on a small box fills it.
  draw_box(img, {0.0f, 0.0f, 3.0f, 3.0f}, {255, 255, 255}, 5);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 3; ++x) EXPECT_EQ(painted(img)[size_t(y * 6 + x)], 1) << x << "," << y;
}

}  // namespace
}  // namespace kiln
