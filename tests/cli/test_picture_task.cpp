// `kiln run --image --task matte|semantic|panoptic` end to end on small models built here and on
// tests/models/mask2former_tiny: the pictures it writes, and its user errors (exit 2, one line,
// nothing written).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../unit/onnx_builder.h"
#include "io/image.h"
#include "io/mask2former_post.h"
#include "io/npy.h"
#include "io/png_rgba.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A 1x1 convolution of the red channel: y = 4 * x_r - 2 (then a Sigmoid when `sigmoid`), so
// with --mean 0 --std 1 the alpha of a pixel is sigmoid(4 * r / 255 - 2).
void save_matte_model(const std::string& path, bool sigmoid, int channels_out = 1) {
  test::ModelBuilder b;
  b.input("image", DType::kF32, {1, 3, 6, 8}).output("alpha", DType::kF32);
  std::vector<float> w(size_t(channels_out) * 3, 0.0f);
  for (int c = 0; c < channels_out; ++c) w[size_t(c) * 3] = 4.0f - float(c);
  b.initializer("w", Tensor::from_vector<float>({channels_out, 3, 1, 1}, w));
  b.initializer("b", Tensor::from_vector<float>({channels_out}, std::vector<float>(size_t(channels_out), -2.0f)));
  b.node("Conv", {"image", "w", "b"}, {sigmoid ? "logits" : "alpha"});
  if (sigmoid) b.node("Sigmoid", {"logits"}, {"alpha"});
  b.save(path);
}

class PictureTaskCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::make_temp_dir("pictures");
    out_ = dir_ + "/out";
    picture_ = Image{8, 6, std::vector<uint8_t>(8 * 6 * 3)};
    for (size_t i = 0; i < picture_.rgb.size(); ++i) picture_.rgb[i] = uint8_t((i * 29 + 5) % 256);
    write_png(dir_ + "/photo.png", picture_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  int kiln(const std::string& args) {
    std::string cmd = std::string(KILN_BINARY) + " " + args + " >" + dir_ + "/stdout 2>" + dir_ + "/stderr";
    int status = std::system(cmd.c_str());
    out_text_ = slurp(dir_ + "/stdout");
    err_text_ = slurp(dir_ + "/stderr");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  void expect_user_error(const std::string& args, const std::string& fragment) {
    EXPECT_EQ(kiln(args), 2) << args << "\n" << err_text_;
    EXPECT_EQ(std::count(err_text_.begin(), err_text_.end(), '\n'), 1) << err_text_;
    EXPECT_NE(err_text_.find(fragment), std::string::npos) << "want '" << fragment << "' in: " << err_text_;
    EXPECT_FALSE(fs::exists(out_)) << args << " wrote output";
  }

  // The alpha the model computes for pixel i, as the mask stores it.
  uint8_t want_alpha(size_t i) const {
    double r = picture_.rgb[i * 3] / 255.0;
    return uint8_t(std::lround(255.0 / (1.0 + std::exp(-(4.0 * r - 2.0)))));
  }

  std::string dir_, out_, out_text_, err_text_;
  Image picture_;
};

TEST_F(PictureTaskCli, MatteWritesMaskCutOutAndSideBySide) {
  for (bool in_model : {true, false}) {  // a Sigmoid in the model, or logits kiln turns into alpha
    SCOPED_TRACE(in_model ? "sigmoid in the model" : "logits");
    fs::remove_all(out_);
    std::string model = dir_ + (in_model ? "/matte.onnx" : "/logits.onnx");
    save_matte_model(model, in_model);
    ASSERT_EQ(kiln("run " + model + " --image " + dir_ + "/photo.png --task matte --mean 0 --std 1 -o " + out_ + " --json"), 0)
        << err_text_;
    auto report = nlohmann::json::parse(out_text_);
    EXPECT_EQ(report["matte"]["values"], in_model ? "sigmoid in the model" : "logits, sigmoid applied");
    EXPECT_EQ(report["pictures"].size(), 3u);

    ImageRgba mask = read_image_rgba(out_ + "/photo_mask.png");
    ImageRgba cut = read_image_rgba(out_ + "/photo_cutout.png");
    ASSERT_EQ(mask.width, 8);
    ASSERT_EQ(mask.height, 6);
    ASSERT_EQ(cut.width, 8);
    for (size_t i = 0; i < 8 * 6; ++i) {
      EXPECT_NEAR(mask.rgba[i * 4], want_alpha(i), 1) << "pixel " << i;
      EXPECT_EQ(cut.rgba[i * 4 + 3], mask.rgba[i * 4]) << "pixel " << i;
      for (size_t c = 0; c < 3; ++c) EXPECT_EQ(cut.rgba[i * 4 + c], picture_.rgb[i * 3 + c]);
    }
    Image both = read_image(out_ + "/photo_side_by_side.png");
    EXPECT_EQ(both.width, 8 + 8 + 8);
    EXPECT_EQ(both.height, 6);
    EXPECT_EQ(std::vector<uint8_t>(both.rgb.begin(), both.rgb.begin() + 24),
              std::vector<uint8_t>(picture_.rgb.begin(), picture_.rgb.begin() + 24));  // the input on the left
    EXPECT_TRUE(fs::exists(out_ + "/alpha.npy"));
    EXPECT_FALSE(fs::exists(out_ + "/logits.npy"));
    EXPECT_TRUE(report["time_ms"]["by_op"].contains("Conv"));
  }
}

TEST_F(PictureTaskCli, SaveInputWritesWhatTheModelRan) {
  save_matte_model(dir_ + "/matte.onnx", true);
  // Default matte normalization: ISNet's (v - 128) / 256.
  ASSERT_EQ(kiln("run " + dir_ + "/matte.onnx --image " + dir_ + "/photo.png --task matte --save-input -o " + out_), 0)
      << err_text_;
  Tensor x = read_npy(out_ + "/image.npy");
  ASSERT_EQ(x.dims(), (Dims{1, 3, 6, 8}));
  for (size_t c = 0; c < 3; ++c)
    for (size_t i = 0; i < 8 * 6; ++i)
      EXPECT_NEAR(x.data<float>()[c * 48 + i], (picture_.rgb[i * 3 + c] - 128.0) / 256.0, 1e-6);
  EXPECT_NE(out_text_.find("matte: sigmoid in the model"), std::string::npos) << out_text_;
}

TEST_F(PictureTaskCli, SemanticWritesLabelsOverlayAndSideBySide) {
  save_matte_model(dir_ + "/classes.onnx", false, 3);  // three "classes": 4r-2, 3r-2, 2r-2
  ASSERT_EQ(kiln("run " + dir_ + "/classes.onnx --image " + dir_ + "/photo.png --task semantic --palette ade20k -o " +
                 out_ + " --json"),
            0)
      << err_text_;
  auto report = nlohmann::json::parse(out_text_);
  EXPECT_EQ(report["semantic"]["palette"], "ade20k");
  Image labels = read_image(out_ + "/photo_labels.png");
  ASSERT_EQ(labels.width, 8);
  // ImageNet-normalized red: class 0 wins where it is positive, class 2 where negative.
  for (size_t i = 0; i < 8 * 6; ++i) {
    double x = (picture_.rgb[i * 3] / 255.0 - 0.485) / 0.229;
    Rgb want = x > 0 ? ade20k_palette()[0] : x < 0 ? ade20k_palette()[2] : ade20k_palette()[0];
    EXPECT_EQ(labels.rgb[i * 3], want[0]) << "pixel " << i;
  }
  EXPECT_TRUE(fs::exists(out_ + "/photo_overlay.png"));
  EXPECT_EQ(read_image(out_ + "/photo_side_by_side.png").width, 24);
}

TEST_F(PictureTaskCli, UserErrors) {
  save_matte_model(dir_ + "/matte.onnx", true);
  save_matte_model(dir_ + "/classes.onnx", false, 3);
  std::ofstream(dir_ + "/notes.png") << "this is text\n";
  std::string m = "run " + dir_ + "/matte.onnx ";
  expect_user_error(m + "--image " + dir_ + "/notes.png --task matte -o " + out_, "not a readable picture");
  expect_user_error(m + "--image " + dir_ + "/missing.png --task matte -o " + out_, "missing.png");
  expect_user_error(m + "--image " + dir_ + "/photo.png --task semantic -o " + out_, "use --task matte");
  expect_user_error("run " + dir_ + "/classes.onnx --image " + dir_ + "/photo.png --task matte -o " + out_,
                    "use --task semantic");
  expect_user_error(m + "--image " + dir_ + "/photo.png --task semantic --palette pascal -o " + out_, "--palette");
  expect_user_error(m + "--image " + dir_ + "/photo.png --task matte --mean 0.1,0.2 -o " + out_, "--mean");
  expect_user_error(m + "--image " + dir_ + "/photo.png --task outline -o " + out_, "--task");
  expect_user_error(m + "--input image=random --save-input -o " + out_, "--save-input needs --image");
}

const std::string kMask2Former = std::string(KILN_TEST_DIR) + "/models/mask2former_tiny/model.onnx";

// The picture is 8x6 and the model's input 128x128: the maps come back at the picture's size,
// computed from the model outputs kiln also wrote.
TEST_F(PictureTaskCli, Mask2FormerSemanticWritesClassMapAtPictureSize) {
  ASSERT_EQ(kiln("run " + kMask2Former + " --image " + dir_ + "/photo.png --task semantic -o " + out_ + " --json"), 0)
      << err_text_;
  auto report = nlohmann::json::parse(out_text_);
  EXPECT_EQ(report["semantic"]["classes"], 10);
  EXPECT_EQ(report["semantic"]["queries"], 16);
  EXPECT_EQ(report["semantic"]["post_processing"], "mask2former");
  EXPECT_EQ(report["post_processing"]["device"], "cpu");
  EXPECT_EQ(report["semantic"]["palette"], "hues");
  EXPECT_EQ(report["pictures"].size(), 3u);
  Tensor classes = read_npy(out_ + "/class_queries_logits.npy"), masks = read_npy(out_ + "/masks_queries_logits.npy");
  EXPECT_EQ(masks.dims(), (Dims{1, 16, 32, 32}));
  Tensor ids = read_npy(out_ + "/photo_labels.npy");
  ASSERT_EQ(ids.dims(), (Dims{6, 8}));
  LabelMap want = mask2former_semantic(classes, masks, {kMask2FormerResize, 6, 8});
  EXPECT_EQ(std::vector<int32_t>(ids.data<int32_t>(), ids.data<int32_t>() + 48), want.ids);
  Image labels = read_image(out_ + "/photo_labels.png");
  EXPECT_EQ(labels.rgb, colorize(want.ids, 8, 6, Palette::kHues).rgb);
  EXPECT_EQ(read_image(out_ + "/photo_overlay.png").rgb, blend(picture_, labels, 0.5f).rgb);
  EXPECT_EQ(read_image(out_ + "/photo_side_by_side.png").width, 24);
  EXPECT_FALSE(fs::exists(out_ + "/photo_segments.json"));
}

TEST_F(PictureTaskCli, Mask2FormerPanopticWritesSegments) {
  // The tiny model is untrained: every query scores about 0.105 with mask logits near 0, so
  // low thresholds are what let its queries through.
  ASSERT_EQ(kiln("run " + kMask2Former + " --image " + dir_ + "/photo.png --task panoptic --score-threshold 0.1 "
                 "--mask-threshold 0.05 --overlap-threshold 0 -o " + out_ + " --json"),
            0)
      << err_text_;
  auto report = nlohmann::json::parse(out_text_);
  auto segments = nlohmann::json::parse(slurp(out_ + "/photo_segments.json"));
  EXPECT_EQ(report["panoptic"]["segments"], segments);
  EXPECT_FLOAT_EQ(report["panoptic"]["score_threshold"].get<float>(), 0.1f);
  ASSERT_FALSE(segments.empty());
  Tensor ids = read_npy(out_ + "/photo_labels.npy");
  ASSERT_EQ(ids.dims(), (Dims{6, 8}));
  std::vector<int32_t> map(ids.data<int32_t>(), ids.data<int32_t>() + 48);
  PanopticOptions o;
  o.score_threshold = 0.1f;
  o.mask_threshold = 0.05f;
  o.overlap_threshold = 0;
  Panoptic want = mask2former_panoptic(read_npy(out_ + "/class_queries_logits.npy"),
                                       read_npy(out_ + "/masks_queries_logits.npy"), o, {kMask2FormerResize, 6, 8});
  EXPECT_EQ(map, want.segments_map.ids);
  int64_t covered = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const auto& s = segments[i];
    EXPECT_EQ(s["id"], int(i) + 1);
    EXPECT_GE(s["label"].get<int>(), 0);
    EXPECT_LT(s["label"].get<int>(), 10);
    EXPECT_GT(s["score"].get<double>(), 0.1);
    EXPECT_EQ(s["area"].get<int64_t>(), std::count(map.begin(), map.end(), s["id"].get<int>()));
    covered += s["area"].get<int64_t>();
  }
  EXPECT_EQ(covered, 48);  // with no overlap requirement every pixel's owner survives
  EXPECT_EQ(read_image(out_ + "/photo_side_by_side.png").width, 24);

  // transformers' default thresholds keep none of these queries: an empty list, no segment anywhere,
  // and the overlay is the picture itself.
  fs::remove_all(out_);
  ASSERT_EQ(kiln("run " + kMask2Former + " --image " + dir_ + "/photo.png --task panoptic -o " + out_), 0) << err_text_;
  EXPECT_EQ(slurp(out_ + "/photo_segments.json"), "[]\n");
  Tensor none = read_npy(out_ + "/photo_labels.npy");
  EXPECT_EQ(std::count(none.data<int32_t>(), none.data<int32_t>() + 48, 0), 48);
  EXPECT_EQ(read_image(out_ + "/photo_overlay.png").rgb, picture_.rgb);
  EXPECT_NE(out_text_.find("panoptic: 0 segments from 16 queries"), std::string::npos) << out_text_;
}

TEST_F(PictureTaskCli, PanopticUserErrors) {
  save_matte_model(dir_ + "/classes.onnx", false, 3);
  std::string m = "run " + kMask2Former + " --image " + dir_ + "/photo.png ";
  expect_user_error("run " + dir_ + "/classes.onnx --image " + dir_ + "/photo.png --task panoptic -o " + out_,
                    "--task panoptic needs Mask2Former's outputs");
  expect_user_error(m + "--task panoptic --score-threshold 1.5 -o " + out_, "--score-threshold must lie between 0 and 1");
  expect_user_error(m + "--task panoptic --mask-threshold -0.1 -o " + out_, "--mask-threshold");
  expect_user_error(m + "--task panoptic --overlap-threshold nan -o " + out_, "--overlap-threshold");
  expect_user_error(m + "--task panoptic --fuse-labels 2,-1 -o " + out_, "--fuse-labels");
  expect_user_error(m + "--task panoptic --fuse-labels 10 -o " + out_, "the model has 10 classes");
  expect_user_error(m + "--task semantic --score-threshold 0.5 -o " + out_, "needs --task panoptic or --task detect");
  expect_user_error(m + "--task matte -o " + out_, "--task matte");
}

}  // namespace
}  // namespace kiln
