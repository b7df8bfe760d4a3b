// `kiln run --device cuda --task detect|semantic|panoptic` end to end: the post-processing runs on
// the GPU from the device outputs (the report says "cuda"), and what it writes is what the CPU
// reference makes of the same run's outputs (the .npy files it also writes): detections and
// panoptic segments exactly, the semantic map on at least 99.99% of the pixels.
#include <nlohmann/json.hpp>

#include "../cli/cli_fixture.h"
#include "io/detection_post.h"
#include "io/image.h"
#include "io/mask2former_post.h"
#include "io/npy.h"
#include "io/png_rgba.h"

namespace kiln {
namespace {

const std::string kModels = std::string(KILN_TEST_DIR) + "/models";

class GpuRunTask : public test::CliTest {
 protected:
  void SetUp() override {
    make_dirs("gpu_run_task");
    Image pic{70, 45, std::vector<uint8_t>(70 * 45 * 3)};
    for (size_t i = 0; i < pic.rgb.size(); ++i) pic.rgb[i] = uint8_t((i * 53 + i / 211) % 256);
    write_png(dir_ + "/street.png", pic);
  }
  nlohmann::json run_json(const std::string& args) {
    test::CliResult r = kiln("run " + args + " --device cuda --json -o " + out_);
    EXPECT_EQ(r.code, 0) << args << "\n" << r.err;
    if (r.code != 0) return {};
    nlohmann::json report = nlohmann::json::parse(r.out);
    EXPECT_EQ(report["post_processing"]["device"], "cuda") << report.dump(2);
    EXPECT_GE(report["post_processing"]["time_ms"].get<double>(), 0.0);
    return report;
  }
};

void expect_detections(const nlohmann::json& dets, const std::vector<std::vector<Detection>>& want) {
  size_t at = 0;
  for (size_t b = 0; b < want.size(); ++b)
    for (const Detection& d : want[b]) {
      ASSERT_LT(at, dets.size());
      const nlohmann::json& j = dets[at++];
      EXPECT_EQ(j["query"], d.query) << at;
      EXPECT_EQ(j["label"], d.label) << at;
      EXPECT_EQ(j["score"].get<float>(), d.score) << at;
      for (int k = 0; k < 4; ++k) EXPECT_EQ(j["box"][k].get<float>(), d.box[size_t(k)]) << at;
      if (want.size() > 1) {
        EXPECT_EQ(j["image"], b);
      }
    }
  EXPECT_EQ(at, dets.size());
}

TEST_F(GpuRunTask, DetectOnTheGpuMatchesTheCpuOnTheSameOutputs) {
  const std::string dir = kModels + "/anchor_detr_tiny";
  // The committed arrays with their bool mask: boxes relative to the unpadded 128 x 112.
  nlohmann::json report = run_json(dir + "/model.onnx --input image=" + dir + "/inputs/image.npy --input padding_mask=" +
                                   dir + "/inputs/padding_mask.npy --task detect --top-k 250");
  ASSERT_FALSE(report.is_null());
  expect_detections(nlohmann::json::parse(test::slurp(out_ + "/output_detections.json")),
                    top_detections(read_npy(out_ + "/pred_logits.npy"), read_npy(out_ + "/pred_boxes.npy"),
                                   {{128, 112}}, 250));
  // A batch of two, k beyond queries x classes (48 x 10): every score, sorted.
  std::filesystem::remove_all(out_);
  const std::string also = dir + "/also/96x128_b2/inputs";
  report = run_json(dir + "/model.onnx --input image=" + also + "/image.npy --input padding_mask=" + also +
                    "/padding_mask.npy --task detect --top-k 1000");
  ASSERT_FALSE(report.is_null());
  Tensor mask = read_npy(also + "/padding_mask.npy");
  expect_detections(nlohmann::json::parse(test::slurp(out_ + "/output_detections.json")),
                    top_detections(read_npy(out_ + "/pred_logits.npy"), read_npy(out_ + "/pred_boxes.npy"),
                                   unpadded_sizes(mask, mask.dtype() == DType::kBool), 1000));
  // A picture, letterboxed: boxes in its pixels.
  std::filesystem::remove_all(out_);
  report = run_json(dir + "/model.onnx --image " + dir_ + "/street.png --task detect --shape image=1x3x128x160");
  ASSERT_FALSE(report.is_null());
  expect_detections(nlohmann::json::parse(test::slurp(out_ + "/street_detections.json")),
                    top_detections(read_npy(out_ + "/pred_logits.npy"), read_npy(out_ + "/pred_boxes.npy"),
                                   {{70, 45}}, 100));
}

TEST_F(GpuRunTask, Mask2FormerMapsOnTheGpuMatchTheCpuOnTheSameOutputs) {
  const std::string model = kModels + "/mask2former_tiny/model.onnx";
  nlohmann::json report = run_json(model + " --image " + dir_ + "/street.png --task semantic");
  ASSERT_FALSE(report.is_null());
  LabelMap want = mask2former_semantic(read_npy(out_ + "/class_queries_logits.npy"),
                                       read_npy(out_ + "/masks_queries_logits.npy"), {kMask2FormerResize, 45, 70});
  Tensor ids = read_npy(out_ + "/street_labels.npy");
  ASSERT_EQ(ids.dims(), (Dims{45, 70}));
  int64_t agree = 0;
  for (size_t i = 0; i < want.ids.size(); ++i) agree += ids.data<int32_t>()[i] == want.ids[i];
  EXPECT_GE(double(agree) / double(want.ids.size()), 0.9999) << agree << " of " << want.ids.size();

  // The untrained model's queries all score about 0.105: low thresholds let them through.
  std::filesystem::remove_all(out_);
  report = run_json(model + " --image " + dir_ + "/street.png --task panoptic --score-threshold 0.1 "
                    "--mask-threshold 0.05 --overlap-threshold 0.2 --fuse-labels 1,3");
  ASSERT_FALSE(report.is_null());
  PanopticOptions o;
  o.score_threshold = 0.1f;
  o.mask_threshold = 0.05f;
  o.overlap_threshold = 0.2;
  o.fuse_labels = {1, 3};
  Panoptic pan = mask2former_panoptic(read_npy(out_ + "/class_queries_logits.npy"),
                                      read_npy(out_ + "/masks_queries_logits.npy"), o, {kMask2FormerResize, 45, 70});
  ASSERT_FALSE(pan.segments.empty());
  Tensor seg = read_npy(out_ + "/street_labels.npy");
  EXPECT_EQ(std::vector<int32_t>(seg.data<int32_t>(), seg.data<int32_t>() + seg.numel()), pan.segments_map.ids);
  nlohmann::json segments = nlohmann::json::parse(test::slurp(out_ + "/street_segments.json"));
  ASSERT_EQ(segments.size(), pan.segments.size());
  for (size_t i = 0; i < segments.size(); ++i) {
    const PanopticSegment& s = pan.segments[i];
    EXPECT_EQ(segments[i]["id"], s.id);
    EXPECT_EQ(segments[i]["label"], s.label);
    EXPECT_EQ(segments[i]["query"], s.query);
    EXPECT_EQ(segments[i]["area"], s.area);
    EXPECT_EQ(segments[i]["fused"], s.fused);
    EXPECT_EQ(segments[i]["score"].get<float>(), s.score);
  }
}

}  // namespace
}  // namespace kiln
