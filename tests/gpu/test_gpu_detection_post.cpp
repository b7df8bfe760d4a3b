// Detection top-k on the GPU (runtime/cuda/post/detection_post_cuda.h) against the CPU reference
// top_detections: the same detections in the same order — query, label, and score and box bit
// for bit (both compute the score with io/portable_sigmoid.h). Both the block path (keep <=
// 2048: radix select + shared-memory sort) and the sort path (larger keep) run on fp32 and fp16
// logits and boxes, awkward shapes, k beyond queries × classes, mass ties (equal logits,
// saturated sigmoids, few distinct values), NaN and infinite logits.
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "gpu_compare.h"
#include "io/detection_post.h"
#include "kiln/status.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/post/detection_post_cuda.h"
#include "runtime/cuda/post/detection_topk.h"

namespace kiln::gpu_test {
namespace {

struct Stream {
  cudaStream_t s = nullptr;
  Stream() { CUDA_CHECK(cudaStreamCreate(&s)); }
  ~Stream() { cudaStreamDestroy(s); }
};

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// Same list, same order, same bits (NaN scores: both NaN).
void expect_same(const std::vector<std::vector<Detection>>& got, const std::vector<std::vector<Detection>>& want,
                 const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t b = 0; b < want.size(); ++b) {
    ASSERT_EQ(got[b].size(), want[b].size()) << what << " image " << b;
    for (size_t r = 0; r < want[b].size(); ++r) {
      const Detection &g = got[b][r], &w = want[b][r];
      const bool same_score = std::isnan(w.score) ? std::isnan(g.score) : bits(g.score) == bits(w.score);
      bool same_box = true;
      for (int i = 0; i < 4; ++i) same_box &= bits(g.box[size_t(i)]) == bits(w.box[size_t(i)]);
      ASSERT_TRUE(g.query == w.query && g.label == w.label && same_score && same_box)
          << what << " image " << b << " rank " << r << ": GPU query " << g.query << " label " << g.label << " score "
          << g.score << " box " << g.box[0] << "," << g.box[1] << "," << g.box[2] << "," << g.box[3] << "; CPU query "
          << w.query << " label " << w.label << " score " << w.score << " box " << w.box[0] << "," << w.box[1] << ","
          << w.box[2] << "," << w.box[3];
    }
  }
}

std::vector<std::vector<Detection>> on_gpu(const Tensor& logits, const Tensor& boxes,
                                           const std::vector<BoxScale>& scales, int64_t k) {
  Stream st;
  DeviceTensor l = to_device(logits, st.s), b = to_device(boxes, st.s);
  return top_detections_cuda(l, b, scales, k, st.s);
}

// Runs both backends and compares; returns the GPU's list for further checks.
std::vector<std::vector<Detection>> expect_gpu_equals_cpu(const Tensor& logits, const Tensor& boxes,
                                                          const std::vector<BoxScale>& scales, int64_t k,
                                                          const std::string& what) {
  auto want = top_detections(logits, boxes, scales, k);
  auto got = on_gpu(logits, boxes, scales, k);
  expect_same(got, want, what + " (" + dims_to_string(logits.dims()) + " " + dtype_name(logits.dtype()) + ", boxes " +
                             dtype_name(boxes.dtype()) + ", k " + std::to_string(k) + ")");
  return got;
}

std::vector<BoxScale> scales_for(int64_t batch) {
  const BoxScale some[] = {{640, 480}, {1333, 800}, {17.5f, 3}, {1, 1}, {800, 1199}};
  std::vector<BoxScale> s;
  for (int64_t b = 0; b < batch; ++b) s.push_back(some[b % 5]);
  return s;
}

// Logits taking only `levels` distinct values (v / 4 - 2): mass ties of equal scores.
Tensor few_values(DType dt, Dims dims, int levels, uint64_t seed) {
  Tensor t = random_tensor(DType::kF32, dims, seed, 0, levels);
  Tensor out(dt, dims);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float v = std::floor(t.data<float>()[i]) / 4 - 2;
    if (dt == DType::kF16) out.data<f16>()[i] = f16{float_to_f16(v)};
    else out.data<float>()[i] = v;
  }
  return out;
}

TEST(GpuDetectionPost, AnchorDetrShapeBothDtypes) {
  uint64_t seed = 9100;
  for (DType lt : {DType::kF32, DType::kF16})
    for (DType bt : {DType::kF32, DType::kF16}) {
      // fp16 logits over [-8, 8) repeat values: ties among the 81900 scores.
      Tensor logits = random_tensor(lt, {1, 900, 91}, seed, -8, 8);
      Tensor boxes = random_tensor(bt, {1, 900, 4}, seed + 1, 0, 1);
      seed += 2;
      for (int64_t k : {100, 1, 300})
        expect_gpu_equals_cpu(logits, boxes, {{1066, 800}}, k, "AnchorDETR");
      if (HasFatalFailure()) return;
    }
}

TEST(GpuDetectionPost, OddShapesAndKBeyondQueriesTimesClasses) {
  struct Case {
    Dims logits;
    int64_t k;
  };
  const std::vector<Case> cases = {{{1, 1, 1}, 1},     {{1, 1, 1}, 5},       {{3, 7, 3}, 5},    {{3, 7, 3}, 21},
                                   {{3, 7, 3}, 100},   {{2, 17, 1}, 16},     {{5, 33, 31}, 1023}, {{2, 1025, 3}, 2048},
                                   {{1, 3, 1000}, 17}, {{4, 100, 91}, 2047}};
  uint64_t seed = 9200;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const Case& c : cases) {
      Tensor logits = random_tensor(dt, c.logits, seed, -6, 6);
      Tensor boxes = random_tensor(dt, {c.logits[0], c.logits[1], 4}, seed + 1, 0, 1);
      seed += 2;
      auto got = expect_gpu_equals_cpu(logits, boxes, scales_for(c.logits[0]), c.k, "odd shape");
      if (HasFatalFailure()) return;
      for (const auto& image : got) EXPECT_EQ(int64_t(image.size()), std::min(c.k, c.logits[1] * c.logits[2]));
    }
}

TEST(GpuDetectionPost, SortPathBeyondOneTile) {
  // keep > 2048: every score sorted (tiles plus global bitonic steps), including k > Q * C.
  struct Case {
    Dims logits;
    int64_t k;
  };
  const std::vector<Case> cases = {{{1, 300, 91}, 2049}, {{2, 300, 91}, 5000}, {{2, 300, 91}, 40000},
                                   {{1, 900, 91}, 81900}, {{3, 1000, 7}, 6999}, {{1, 4097, 1}, 4097}};
  uint64_t seed = 9300;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const Case& c : cases) {
      Tensor logits = random_tensor(dt, c.logits, seed, -10, 10);
      Tensor boxes = random_tensor(DType::kF32, {c.logits[0], c.logits[1], 4}, seed + 1, 0, 1);
      seed += 2;
      expect_gpu_equals_cpu(logits, boxes, scales_for(c.logits[0]), c.k, "sort path");
      if (HasFatalFailure()) return;
    }
}

TEST(GpuDetectionPost, TiesKeepTheLowerFlatIndexFirst) {
  uint64_t seed = 9400;
  for (DType dt : {DType::kF32, DType::kF16}) {
    // Every logit equal: the first k flat indices, in order, on both paths.
    for (int64_t k : {1, 100, 2048, 2049, 3000}) {
      Tensor logits(dt, {2, 50, 60});
      for (int64_t i = 0; i < logits.numel(); ++i) {
        if (dt == DType::kF16) logits.data<f16>()[i] = f16{float_to_f16(0.25f)};
        else logits.data<float>()[i] = 0.25f;
      }
      Tensor boxes = random_tensor(dt, {2, 50, 4}, seed++, 0, 1);
      auto got = expect_gpu_equals_cpu(logits, boxes, scales_for(2), k, "all equal");
      if (HasFatalFailure()) return;
      for (const auto& image : got)
        for (size_t r = 0; r < image.size(); ++r) ASSERT_EQ(image[r].query * 60 + image[r].label, int64_t(r));
    }
    // A few distinct values: the threshold score is shared by thousands of entries.
    for (int64_t k : {100, 777, 2048, 5000}) {
      Tensor logits = few_values(dt, {3, 300, 91}, 6, seed++);
      Tensor boxes = random_tensor(dt, {3, 300, 4}, seed++, 0, 1);
      expect_gpu_equals_cpu(logits, boxes, scales_for(3), k, "few values");
      if (HasFatalFailure()) return;
    }
    // Saturated sigmoids: distinct logits in [17, 40) all score 1.0f, so the order among them is
    // by index, not by logit; below them a band of distinct scores.
    Tensor logits = random_tensor(dt, {2, 400, 20}, seed++, -4, 40);
    Tensor boxes = random_tensor(dt, {2, 400, 4}, seed++, 0, 1);
    for (int64_t k : {100, 2000, 9000}) {
      auto got = expect_gpu_equals_cpu(logits, boxes, scales_for(2), k, "saturated");
      if (HasFatalFailure()) return;
      ASSERT_EQ(got[0][0].score, 1.0f);
      ASSERT_EQ(got[0][1].score, 1.0f);
      EXPECT_LT(got[0][0].query * 20 + got[0][0].label, got[0][1].query * 20 + got[0][1].label);
    }
  }
}

TEST(GpuDetectionPost, NanAndInfiniteLogits) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (int64_t k : {10, 2100}) {
    Tensor logits = random_tensor(DType::kF32, {1, 100, 30}, 9500, -3, 3);
    float* l = logits.data<float>();
    l[17] = nan;
    l[1234] = nan;
    l[5] = inf;
    l[6] = -inf;
    l[2999] = inf;
    Tensor boxes = random_tensor(DType::kF32, {1, 100, 4}, 9501, 0, 1);
    auto got = expect_gpu_equals_cpu(logits, boxes, {{100, 50}}, k, "NaN and inf");
    if (HasFatalFailure()) return;
    // torch.topk ranks NaN above everything: the two NaNs by index, then the two infinities.
    EXPECT_EQ(got[0][0].query * 30 + got[0][0].label, 17);
    EXPECT_EQ(got[0][1].query * 30 + got[0][1].label, 1234);
    EXPECT_EQ(got[0][2].query * 30 + got[0][2].label, 5);
    EXPECT_EQ(got[0][2].score, 1.0f);
    EXPECT_EQ(got[0][3].query * 30 + got[0][3].label, 2999);
  }
}

TEST(GpuDetectionPost, RefusesWhatTheCpuRefuses) {
  Stream st;
  auto dev = [&](DType dt, Dims dims) { return to_device(random_tensor(dt, dims, 1), st.s); };
  auto refuses = [&](const DeviceTensor& l, const DeviceTensor& b, std::vector<BoxScale> s, int64_t k,
                     const char* fragment) {
    try {
      top_detections_cuda(l, b, s, k, st.s);
      ADD_FAILURE() << "accepted; wanted " << fragment;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  DeviceTensor logits = dev(DType::kF32, {1, 3, 2});
  refuses(logits, dev(DType::kF32, {1, 3, 5}), {{1, 1}}, 1, "[batch, queries, 4]");
  refuses(logits, dev(DType::kF32, {1, 2, 4}), {{1, 1}}, 1, "do not match");
  refuses(dev(DType::kF32, {3, 2}), dev(DType::kF32, {1, 3, 4}), {{1, 1}}, 1, "[batch, queries, classes]");
  refuses(dev(DType::kI64, {1, 3, 2}), dev(DType::kF32, {1, 3, 4}), {{1, 1}}, 1, "float32 or float16");
  refuses(logits, dev(DType::kF32, {1, 3, 4}), {}, 1, "image sizes");
  refuses(logits, dev(DType::kF32, {1, 3, 4}), {{1, 1}}, 0, "at least 1");
}

}  // namespace
}  // namespace kiln::gpu_test
