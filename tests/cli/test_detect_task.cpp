// `kiln run --task detect` on tests/models/anchor_detr_tiny: a picture letterboxed into the
// input with its padding mask, the committed arrays with their bool mask, the detections it
// writes against io/detection_post.h on the saved outputs, and its user errors (exit 2, one
// line, nothing written).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_fixture.h"
#include "io/detection_post.h"
#include "io/image.h"
#include "io/npy.h"
#include "io/png_rgba.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

const std::string kModelDir = std::string(KILN_TEST_DIR) + "/models/anchor_detr_tiny";
const std::string kModel = kModelDir + "/model.onnx";

class DetectTaskCli : public test::CliTest {
 protected:
  void SetUp() override {
    make_dirs("detect");
    picture_ = Image{120, 90, std::vector<uint8_t>(120 * 90 * 3)};
    for (size_t i = 0; i < picture_.rgb.size(); ++i) picture_.rgb[i] = uint8_t((i * 37 + 11) % 256);
    write_png(dir_ + "/street.png", picture_);
  }
  Image picture_;
};

TEST_F(DetectTaskCli, PictureLetterboxedWithMaskGivesTopKInPictureCoordinates) {
  test::CliResult r = kiln("run " + kModel + " --image " + dir_ + "/street.png --task detect --shape image=1x3x128x160 " +
                           "--score-threshold 0.6 --top-k 30 --save-input --json -o " + out_);
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json report = nlohmann::json::parse(r.out);
  // 120 x 90 into 160 x 128: scale min(128/90, 160/120) = 1.333, so 160 x 120 and 8 rows of padding
  EXPECT_EQ(report["detect"]["input"]["picture_width"], 160);
  EXPECT_EQ(report["detect"]["input"]["picture_height"], 120);
  EXPECT_EQ(report["post_processing"]["device"], "cpu");  // --device cuda: "cuda" (tests/gpu/test_gpu_run_task.cpp)
  EXPECT_GE(report["post_processing"]["time_ms"].get<double>(), 0.0);
  Tensor image = read_npy(out_ + "/image.npy");
  ASSERT_EQ(image.dims(), (Dims{1, 3, 128, 160}));
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 120; y < 128; ++y) EXPECT_EQ(image.data<float>()[(c * 128 + y) * 160 + 5], 0.0f);

  nlohmann::json dets = nlohmann::json::parse(test::slurp(out_ + "/street_detections.json"));
  ASSERT_EQ(dets.size(), 30u);
  auto want = top_detections(read_npy(out_ + "/pred_logits.npy"), read_npy(out_ + "/pred_boxes.npy"), {{120, 90}}, 30);
  int above = 0;
  for (size_t i = 0; i < dets.size(); ++i) {
    const Detection& d = want[0][i];
    EXPECT_EQ(dets[i]["query"], d.query);
    EXPECT_EQ(dets[i]["label"], d.label);
    EXPECT_FLOAT_EQ(dets[i]["score"].get<float>(), d.score);
    for (int k = 0; k < 4; ++k) EXPECT_FLOAT_EQ(dets[i]["box"][k].get<float>(), d.box[size_t(k)]);
    if (i) {
      EXPECT_GE(dets[i - 1]["score"].get<float>(), dets[i]["score"].get<float>());
    }
    above += d.score >= 0.6f;
  }
  EXPECT_EQ(report["detect"]["drawn"], above);
  Image boxes = decode_image(test::slurp(out_ + "/street_boxes.png"), "boxes");
  EXPECT_EQ(boxes.width, 120);
  EXPECT_EQ(boxes.height, 90);
  if (above) {
    EXPECT_NE(boxes.rgb, picture_.rgb);
  }
}

TEST_F(DetectTaskCli, ArraysWithBoolMaskScaleBoxesToTheUnpaddedSize) {
  test::CliResult r = kiln("run " + kModel + " --input image=" + kModelDir + "/inputs/image.npy --input padding_mask=" +
                           kModelDir + "/inputs/padding_mask.npy --task detect -o " + out_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("detect: top 100 of 48 queries x 10 classes"), std::string::npos) << r.out;
  nlohmann::json dets = nlohmann::json::parse(test::slurp(out_ + "/output_detections.json"));
  ASSERT_EQ(dets.size(), 100u);
  // The committed mask leaves the top-left 112 x 128 valid; the goldens give the boxes.
  auto want = top_detections(read_npy(kModelDir + "/golden/pred_logits.npy"),
                             read_npy(kModelDir + "/golden/pred_boxes.npy"), {{128, 112}}, 100);
  for (size_t i = 0; i < dets.size(); ++i) {
    EXPECT_EQ(dets[i]["query"], want[0][i].query) << i;
    EXPECT_EQ(dets[i]["label"], want[0][i].label) << i;
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(dets[i]["box"][k].get<float>(), want[0][i].box[size_t(k)], 1e-3) << i;
  }
  EXPECT_FALSE(fs::exists(out_ + "/output_boxes.png"));
}

TEST_F(DetectTaskCli, BatchOfTwoListsEachImage) {
  const std::string also = kModelDir + "/also/96x128_b2";
  test::CliResult r = kiln("run " + kModel + " --input image=" + also + "/inputs/image.npy --input padding_mask=" + also +
                           "/inputs/padding_mask.npy --task detect --top-k 5 -o " + out_);
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json dets = nlohmann::json::parse(test::slurp(out_ + "/output_detections.json"));
  ASSERT_EQ(dets.size(), 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(dets[i]["image"], i / 5);
}

TEST_F(DetectTaskCli, UserErrors) {
  const std::string pic = " --image " + dir_ + "/street.png";
  expect_user_error("run " + kModel + pic + " --task detect --top-k 0 -o " + out_, "--top-k must be at least 1");
  expect_user_error("run " + kModel + pic + " --task semantic --top-k 5 -o " + out_, "--top-k needs --task detect");
  expect_user_error("run " + kModel + pic + " --task matte --score-threshold 0.5 -o " + out_,
                    "--score-threshold needs --task panoptic or --task detect");
  expect_user_error("run " + kModel + pic + " --task detect --shape image=2x3x128x160 -o " + out_, "has batch 2");
  const std::string segformer = std::string(KILN_TEST_DIR) + "/models/segformer_tiny/model.onnx";
  expect_user_error("run " + segformer + pic + " --task detect -o " + out_, "needs class logits [N, Q, C] and boxes");
  // An all-padding mask leaves nothing to scale the boxes by (checked before anything is written).
  Tensor all_padding(DType::kBool, {1, 64, 64});
  std::fill_n(all_padding.data<bool>(), 64 * 64, true);
  write_npy(dir_ + "/padding.npy", all_padding);
  expect_user_error("run " + kModel + " --input image=random --input padding_mask=" + dir_ +
                    "/padding.npy --shape image=1x3x64x64 --task detect --seed 1 -o " + out_,
                    "no valid pixel");
}

}  // namespace
}  // namespace kiln
